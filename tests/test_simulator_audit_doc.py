"""The simulated audit-doc agent, driven through the SDK over real sockets: real tool-use turns, the
local executor's file by default, and a weaker model's audit under the `miscount` rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from runs.operations.audit_doc import local, prompts
from runs.operations.audit_doc.auditfile import AuditFileError, check_audit
from runs.operations.audit_doc.record import format_audit
from runs.operations.audit_doc.search import SEARCH_CODE_SCHEMA, CodeSearch
from runs.operations.audit_doc.sections import doc_sections
from runs.operations.base import final_message
from runs.simulator.server import start_simulator
from runs.tools import TOOL_SCHEMAS, Toolbox, ToolError
from tests.simulator_fixtures import EPHEMERAL, client, sendable, with_breakpoint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HAIKU, SONNET = "claude-haiku-5-5", "claude-sonnet-5-5"
RUN_ID = "audit-doc-20261128-101500-a1b2"

# (intro) "# Notes" + blank: 2 lines; Story: 6; Paths: 2 (its path is broken). Local: CONTEXTUAL,
# CONTEXTUAL, INACCURATE, bad 20%: NEEDS UPDATE. The weaker model reads Story (the largest) as
# DUPLICATIVE and misses the broken path: bad (6 + 2) / 10 = 80% with a good section: REPLACE WITH CODE
# REFS.
NOTES = "# Notes\n\n## Story\na\nb\nc\nd\n\n## Paths\nSee src/gone.py for it.\n"


class Tools:
    """audit-doc's four tools as erkweb runs them: runs.tools for three, search.py for search_code."""

    def __init__(self, repo: Path, output: Path, *, search: bool = True):
        self.toolbox = Toolbox(read_root=repo, repo_root=repo, output_path=output)
        self.code = CodeSearch(repo)
        self.schemas = [*TOOL_SCHEMAS, SEARCH_CODE_SCHEMA] if search else list(TOOL_SCHEMAS)
        self.calls: list[tuple[str, dict]] = []

    def run(self, block) -> dict:
        self.calls.append((block.name, dict(block.input)))
        try:
            if block.name == "search_code":
                content = self.code.search_code(block.input.get("query"))
            else:
                content = self.toolbox.call(block.name, dict(block.input))
        except ToolError as exc:
            return {
                "type": "tool_result",
                "tool_use_id": block.id,
                "content": f"error: {exc}",
                "is_error": True,
            }
        return {"type": "tool_result", "tool_use_id": block.id, "content": content}


def converse(url: str, tools: Tools, text: str, *, model: str = SONNET, max_turns: int = 8):
    api = client(url)
    system = [{"type": "text", "text": prompts.SYSTEM_PROMPT, "cache_control": EPHEMERAL}]
    messages = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    responses = []
    for _ in range(max_turns):
        response = api.messages.create(
            model=model,
            max_tokens=16000,
            system=system,
            tools=tools.schemas,
            messages=with_breakpoint(messages),
        )
        responses.append(response)
        messages.append({"role": "assistant", "content": sendable(response.content)})
        if response.stop_reason != "tool_use":
            break
        messages.append(
            {"role": "user", "content": [tools.run(b) for b in response.content if b.type == "tool_use"]}
        )
    return responses


def assignment(output: Path, doc: str, read_path: str, text: str) -> str:
    sections = [(section.name, section.size) for section in doc_sections(text).sections]
    return prompts.doc_message(
        run_id=RUN_ID,
        index=1,
        count=1,
        output_path=str(output),
        doc=doc,
        read_path=read_path,
        sections=sections,
    )


@pytest.fixture
def sim():
    with start_simulator() as handle:
        yield handle


@pytest.fixture
def notes(tmp_path):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "notes.md").write_text(NOTES)
    return repo


def test_an_example_doc_is_audited_in_four_turns_into_the_local_file(sim, tmp_path):
    doc = "architecture/config-loading.md"
    read_path = f"docs/learned/{doc}"
    text = (EXAMPLES / read_path).read_text()
    output = tmp_path / "audit-1.md"
    tools = Tools(EXAMPLES, output)
    responses = converse(sim.url, tools, assignment(output, doc, read_path, text))

    assert [r.stop_reason for r in responses] == ["tool_use", "tool_use", "tool_use", "end_turn"]
    # The blocks as the loop sends them back (without the empty text blocks the quirk adds).
    first = sendable(responses[0].content)
    assert [b["type"] for b in first] == ["thinking", "tool_use"]
    assert (first[1]["name"], first[1]["input"]) == ("read_file", {"path": read_path})
    checks = local.checks(text)
    second = [(b.name, b.input) for b in responses[1].content if b.type == "tool_use"]
    assert second == [("path_exists", {"path": p}) for p in checks.paths] + [
        ("search_code", {"query": q}) for q in checks.queries
    ]
    write = [b for b in responses[2].content if b.type == "tool_use"]
    assert [(b.name, b.input["path"]) for b in write] == [("write_file", str(output))]
    assert output.read_text() == local.local_audit_text(doc, text, EXAMPLES)
    audit = check_audit(output.read_text(), doc=doc, doc_text=text, repo_root=EXAMPLES)
    assert audit.verdict == "NEEDS UPDATE"
    assert "".join(b.text for b in responses[3].content if b.type == "text") == final_message(str(output))


def test_two_models_disagree_offline_under_the_miscount_rule(sim, notes, tmp_path):
    sim.set_rules([{"behaviour": "miscount", "model": "haiku"}])
    verdicts = {}
    for model in (SONNET, HAIKU):
        output = tmp_path / f"audit-{model}.md"
        converse(
            sim.url, Tools(notes, output), assignment(output, "notes.md", "docs/notes.md", NOTES), model=model
        )
        audit = check_audit(output.read_text(), doc="notes.md", doc_text=NOTES, repo_root=notes)
        verdicts[model] = audit
    exact, weaker = verdicts[SONNET], verdicts[HAIKU]
    assert exact.verdict == "NEEDS UPDATE" and (exact.bad, exact.good) == (20, 80)
    assert [row.category for row in exact.sections] == ["CONTEXTUAL", "CONTEXTUAL", "INACCURATE"]
    assert [(f.status, f.subject) for f in exact.findings] == [("BROKEN", "src/gone.py")]
    assert weaker.verdict == "REPLACE WITH CODE REFS" and (weaker.bad, weaker.good) == (80, 20)
    assert [row.category for row in weaker.sections] == ["CONTEXTUAL", "DUPLICATIVE", "INACCURATE"]
    assert weaker.findings == () and (weaker.verified, weaker.broken) == (0, 0)
    assert weaker.revised == exact.revised  # both verdicts take the same revision


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("missing-item", "Sections: missing Paths"),
        ("malformed-file", "header: verified is not a whole number: many"),
        ("empty-file", "empty file"),
    ],
)
def test_bad_files_are_written_as_the_rules_ask_and_fail_verification(
    sim, notes, tmp_path, behaviour, reason
):
    sim.set_rules([behaviour])
    output = tmp_path / "audit-1.md"
    converse(sim.url, Tools(notes, output), assignment(output, "notes.md", "docs/notes.md", NOTES))
    with pytest.raises(AuditFileError) as raised:
        check_audit(output.read_text(), doc="notes.md", doc_text=NOTES, repo_root=notes)
    assert raised.value.reason == reason


def test_a_doc_with_nothing_to_check_goes_straight_to_the_write(sim, notes, tmp_path):
    plain = "# Plain\n\nNothing to check here.\n"
    (notes / "docs" / "plain.md").write_text(plain)
    output = tmp_path / "audit-1.md"
    tools = Tools(notes, output)
    responses = converse(sim.url, tools, assignment(output, "plain.md", "docs/plain.md", plain))
    assert [r.stop_reason for r in responses] == ["tool_use", "tool_use", "end_turn"]
    assert [name for name, _ in tools.calls] == ["read_file", "write_file"]
    assert output.read_text() == local.local_audit_text("plain.md", plain, notes)


def test_without_search_code_on_offer_it_searches_nothing(sim, notes, tmp_path):
    output = tmp_path / "audit-1.md"
    tools = Tools(notes, output, search=False)
    converse(sim.url, tools, assignment(output, "notes.md", "docs/notes.md", NOTES))
    assert "search_code" not in {name for name, _ in tools.calls}
    expected = local.audit(
        "notes.md", NOTES, exists=lambda rel: (notes / rel).exists(), search=lambda q: "no matches"
    )
    assert output.read_text() == format_audit(expected)


def test_a_doc_that_cannot_be_read_is_reported_and_nothing_written(sim, notes, tmp_path):
    output = tmp_path / "audit-1.md"
    responses = converse(sim.url, Tools(notes, output), assignment(output, "gone.md", "docs/gone.md", NOTES))
    assert [r.stop_reason for r in responses] == ["tool_use", "end_turn"]
    assert "could not read gone.md" in responses[-1].content[0].text
    assert not output.exists()


def test_a_conversation_without_an_assignment_gets_a_plain_answer(sim, notes, tmp_path):
    responses = converse(sim.url, Tools(notes, tmp_path / "x.md"), "hello")
    assert responses[0].stop_reason == "end_turn"
    assert "could not find my assignment" in responses[0].content[0].text


@pytest.mark.parametrize(
    ("behaviour", "last_stop", "written"),
    [
        ("inline", "end_turn", False),
        ("no-write", "end_turn", False),
        ("write-outside", "end_turn", False),
        ("max-tokens", "max_tokens", False),
        ("wrong-final", "end_turn", True),
        ("refusal", "refusal", False),
    ],
)
def test_protocol_misbehaviours(sim, notes, tmp_path, behaviour, last_stop, written):
    sim.set_rules([behaviour])
    output = tmp_path / "audit-1.md"
    tools = Tools(notes, output)
    responses = converse(sim.url, tools, assignment(output, "notes.md", "docs/notes.md", NOTES))
    assert responses[-1].stop_reason == last_stop
    assert output.exists() == written
    final = "".join(b.text for b in responses[-1].content if b.type == "text")
    if behaviour == "inline":
        assert "verdict: NEEDS UPDATE" in final
    if behaviour == "no-write":
        assert final == final_message(str(output))  # claims a file it never wrote
    if behaviour == "write-outside":
        refused = [call for call in tools.calls if call[0] == "write_file"]
        assert refused and refused[0][1]["path"] != str(output)
    if behaviour == "wrong-final":
        assert final != final_message(str(output))
        check_audit(output.read_text(), doc="notes.md", doc_text=NOTES, repo_root=notes)
