"""The simulated learn agents, driven through a real tool-use loop over real sockets with erkweb's tools."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import pytest

from runs.operations.base import OutputRejected, final_message
from runs.operations.learn import agents as A
from runs.operations.learn import prompts
from runs.operations.learn.checks import check_file
from runs.operations.learn.local import analyse
from runs.operations.learn.parsers import parse_candidates
from runs.operations.learn.player import OUTSIDE_PATH, WRONG_FINAL
from runs.simulator.faults import MISBEHAVIOURS
from runs.simulator.server import start_simulator
from runs.tools import Toolbox, ToolError
from tests.simulator_fixtures import EPHEMERAL, MODEL, client, sendable, with_breakpoint
from tests.test_learn_local import COMMENTS, DIFF, LOG, TITLE, session_chunk

RUN = "learn-20261120-100000-beef"
HINTS = ("learn", "local", "executor")
CHUNK = "sessions/session-5f1c0de2-part1.xml"
DOCS = {
    "learn/overview.md": "# Learn\n\nHow learn works: the local executor writes every file.\n",
    "cli.md": "# CLI\n\n`erk learn` runs the operation.\n",
    "tripwires.md": "# Tripwires\n\nNone yet.\n",
}


@pytest.fixture
def sim():
    with start_simulator() as handle:
        yield handle


@dataclass
class Folder:
    run: Path  # the run's scratch folder: every input, and learn-agents/ for the outputs
    repo: Path
    docs: Path

    def output(self, kind: str, chunk: str = CHUNK) -> str:
        rel = A.session_output(chunk) if kind == A.SESSION else f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[kind]}"
        return str(self.run / rel)


@pytest.fixture
def folder(tmp_path) -> Folder:
    run, repo = tmp_path / RUN, tmp_path / "repo"
    docs = repo / "docs" / "learned"
    for rel, text in DOCS.items():
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(text)
    (run / A.SESSIONS_DIR).mkdir(parents=True)
    (run / A.AGENTS_DIR).mkdir()
    (run / CHUNK).write_text(session_chunk())
    (run / A.DIFF_FILE).write_text(DIFF)
    (run / A.LOG_FILE).write_text(LOG)
    (run / A.COMMENTS_FILE).write_text(json.dumps(COMMENTS))
    return Folder(run.resolve(), repo.resolve(), docs.resolve())


@dataclass
class Convo:
    responses: list = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def final_text(self) -> str:
        return "".join(block.text for block in self.responses[-1].content if block.type == "text")

    @property
    def stops(self) -> list[str]:
        return [response.stop_reason for response in self.responses]


def drive(api: anthropic.Anthropic, toolbox: Toolbox, message: str, max_turns: int = 6) -> Convo:
    """erkweb's loop in small: every tool_use runs in the Toolbox, a ToolError becomes an error result."""
    convo = Convo()
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": message}]}]
    system = [{"type": "text", "text": prompts.SYSTEM_PROMPT, "cache_control": EPHEMERAL}]
    for _ in range(max_turns):
        response = api.messages.create(
            model=MODEL,
            max_tokens=16000,
            system=system,
            tools=toolbox.schemas,
            messages=with_breakpoint(messages),
        )
        convo.responses.append(response)
        messages.append({"role": "assistant", "content": sendable(response.content)})
        if response.stop_reason != "tool_use":
            break
        results = []
        for block in response.content:
            if block.type != "tool_use":
                continue
            convo.calls.append((block.name, dict(block.input)))
            try:
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block.id,
                        "content": toolbox.call(block.name, block.input),
                    }
                )
            except ToolError as exc:
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block.id,
                        "content": f"error: {exc}",
                        "is_error": True,
                    }
                )
        messages.append({"role": "user", "content": results})
    return convo


def run_agent(sim, folder: Folder, kind: str, inputs, *, index=1, count=7, hints=HINTS, chunk=CHUNK):
    output = folder.output(kind, chunk)
    toolbox = Toolbox(
        read_root=folder.run, repo_root=folder.repo, output_path=Path(output), docs_root=folder.docs
    )
    message = prompts.batch_message(
        run_id=RUN,
        index=index,
        count=count,
        kind=kind,
        title=TITLE,
        output_path=output,
        hints=hints,
        inputs=list(inputs),
    )
    return drive(client(sim.url), toolbox, message), toolbox, Path(output)


def expected(folder: Folder, kind: str, inputs, toolbox: Toolbox, hints=HINTS) -> str:
    texts = {rel: (folder.run / rel).read_text() for rel in inputs if (folder.run / rel).is_file()}
    return analyse(kind, title=TITLE, hints=hints, inputs=texts, search=toolbox.search_docs)


STAGE1 = [
    (A.SESSION, (CHUNK,)),
    (A.DIFF, (A.DIFF_FILE, A.LOG_FILE)),
    (A.DOCS, ()),
    (A.COMMENTS, (A.COMMENTS_FILE,)),
]
STAGE1_OUT = tuple(
    f"{A.AGENTS_DIR}/{name}"
    for name in (
        "session-5f1c0de2-part1.md",
        "diff-analysis.md",
        "existing-docs-check.md",
        "pr-comments-analysis.md",
    )
)
GAPS_OUT = f"{A.AGENTS_DIR}/gap-analysis.md"
PLAN_OUT = f"{A.AGENTS_DIR}/learn-plan.md"
PIPELINE = [
    *STAGE1,
    (A.GAPS, STAGE1_OUT),
    (A.PLAN, (GAPS_OUT, STAGE1_OUT[0], STAGE1_OUT[1])),
    (A.TRIPWIRES, (PLAN_OUT, GAPS_OUT)),
]


def run_pipeline(sim, folder: Folder, until: str | None = None) -> None:
    """Every agent before ``until`` (all of them without it), in stage order, each one verified."""
    for index, (kind, inputs) in enumerate(PIPELINE, start=1):
        if kind == until:
            return
        convo, _, output = run_agent(sim, folder, kind, inputs, index=index)
        assert convo.final_text == final_message(str(output))
        check_file(kind, output.read_text(), title=TITLE)


# --- the protocol, agent by agent ---------------------------------------------------------------


def test_every_agent_takes_three_turns_and_writes_what_the_local_analyser_writes(sim, folder):
    for index, (kind, inputs) in enumerate(PIPELINE, start=1):
        convo, toolbox, output = run_agent(sim, folder, kind, inputs, index=index)
        assert convo.stops == ["tool_use", "tool_use", "end_turn"], kind

        # Turn 1: a thinking block, every read at once, and the docs-checker's searches (the blocks as the
        # loop sends them back, without the empty text blocks the quirk adds).
        first = sendable(convo.responses[0].content)
        assert first[0]["type"] == "thinking" and first[0]["signature"]
        reads = [(b["name"], b["input"]) for b in first[1:]]
        searches = [("search_docs", {"query": hint}) for hint in HINTS] if kind == A.DOCS else []
        assert reads == [("read_file", {"path": path}) for path in inputs] + searches, kind

        # Turn 2: one write with the whole file; turn 3: the final message.
        second = sendable(convo.responses[1].content)
        assert [b["type"] for b in second] == ["thinking", "tool_use"]
        assert second[1]["name"] == "write_file" and second[1]["input"]["path"] == str(output)
        assert output.read_text() == expected(folder, kind, inputs, toolbox), kind
        assert [b.type for b in convo.responses[2].content] == ["text"]
        assert convo.final_text == final_message(str(output))
        assert check_file(kind, output.read_text(), title=TITLE).warnings == ()
        assert [name for name, _ in convo.calls].count("write_file") == 1

    plan = (folder.run / PLAN_OUT).read_text()
    assert plan.startswith(f"# Documentation Plan: {TITLE}\n")
    candidates = parse_candidates((folder.run / A.AGENTS_DIR / "tripwire-candidates.json").read_text())
    assert [c.target_doc_path for c in candidates] == ["learn/overview.md"]
    # The docs check searched the real docs through the tool.
    assert "`docs/learn/overview.md`" in (folder.run / STAGE1_OUT[2]).read_text()


def test_a_docs_check_without_hints_writes_at_once(sim, folder):
    convo, toolbox, output = run_agent(sim, folder, A.DOCS, (), hints=())
    assert convo.stops == ["tool_use", "end_turn"]
    assert output.read_text() == expected(folder, A.DOCS, (), toolbox, hints=())
    assert convo.final_text == final_message(str(output))


def test_an_input_that_cannot_be_read_is_left_out(sim, folder):
    run_pipeline(sim, folder, until=A.GAPS)
    (folder.run / STAGE1_OUT[3]).unlink()  # the comments analysis is gone
    convo, toolbox, output = run_agent(sim, folder, A.GAPS, STAGE1_OUT)
    assert convo.final_text == final_message(str(output))
    assert output.read_text() == expected(folder, A.GAPS, STAGE1_OUT, toolbox)
    assert "pr-comments-analysis.md" not in output.read_text()


def test_the_rule_target_is_the_run_and_the_batch(sim, folder):
    sim.set_rules([{"behaviour": "empty-file", "run": RUN, "batch": 2}])
    _, _, output = run_agent(sim, folder, A.SESSION, (CHUNK,), index=1)
    assert output.read_text().startswith("# Session Analysis")
    _, _, output = run_agent(sim, folder, A.DIFF, (A.DIFF_FILE, A.LOG_FILE), index=2)
    assert output.read_text() == ""
    assert sim.rules[0]["fired"] == 1


def test_the_health_check_lists_the_learn_player(sim):
    import urllib.request

    with urllib.request.urlopen(f"{sim.url}/_simulator/health") as response:
        assert "learn" in json.loads(response.read())["players"]


# --- misbehaviours ------------------------------------------------------------------------------


def test_drift_renames_the_tripwire_fields_and_erkweb_repairs_it(sim, folder):
    run_pipeline(sim, folder, until=A.TRIPWIRES)
    sim.set_rules(["drift"])
    convo, toolbox, output = run_agent(sim, folder, A.TRIPWIRES, (PLAN_OUT, GAPS_OUT), index=7)
    assert convo.final_text == final_message(str(output))
    drifted = json.loads(output.read_text())
    canonical = json.loads(expected(folder, A.TRIPWIRES, (PLAN_OUT, GAPS_OUT), toolbox))
    assert list(drifted) == ["tripwire_candidates"]
    assert drifted["tripwire_candidates"] == [
        {"title": c["action"], "description": c["warning"], "target_doc_path": c["target_doc_path"]}
        for c in canonical["candidates"]
    ]
    checked = check_file(A.TRIPWIRES, output.read_text(), title=TITLE)
    assert "repaired drift: tripwire_candidates → candidates" in checked.warnings
    assert json.loads(checked.text) == canonical


def test_drift_leaves_the_other_agents_alone(sim, folder):
    sim.set_rules(["drift"])
    _, toolbox, output = run_agent(sim, folder, A.DIFF, (A.DIFF_FILE, A.LOG_FILE))
    assert output.read_text() == expected(folder, A.DIFF, (A.DIFF_FILE, A.LOG_FILE), toolbox)
    assert sim.rules[0]["fired"] == 1


def test_every_misbehaviour_is_known_to_the_learn_player():
    from runs.operations.learn.player import LearnPlayer

    assert "drift" in MISBEHAVIOURS
    assert set(MISBEHAVIOURS) <= LearnPlayer.behaviours


DIFF_INPUTS = (A.DIFF_FILE, A.LOG_FILE)


@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [
        ("empty-file", "empty file"),
        ("malformed-file", "heading Documentation Summary has no text"),
        ("missing-item", "missing heading: Recommended Documentation Items"),
    ],
)
def test_bad_markdown_files_fail_verification(sim, folder, behaviour, problem):
    sim.set_rules([behaviour])
    convo, _, output = run_agent(sim, folder, A.DIFF, DIFF_INPUTS)
    assert convo.final_text == final_message(str(output))
    with pytest.raises(OutputRejected, match=problem):
        check_file(A.DIFF, output.read_text(), title=TITLE)


@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [("malformed-file", "not JSON"), ("missing-item", "missing field target_doc_path")],
)
def test_bad_tripwire_files_fail_verification(sim, folder, behaviour, problem):
    run_pipeline(sim, folder, until=A.TRIPWIRES)
    sim.set_rules([behaviour])
    _, _, output = run_agent(sim, folder, A.TRIPWIRES, (PLAN_OUT, GAPS_OUT), index=7)
    with pytest.raises(OutputRejected, match=problem):
        check_file(A.TRIPWIRES, output.read_text(), title=TITLE)


def test_missing_item_without_candidates_drops_the_key(sim, folder):
    (folder.run / PLAN_OUT).write_text(f"# Documentation Plan: {TITLE}\n")
    (folder.run / GAPS_OUT).write_text("# Gaps\n")
    sim.set_rules(["missing-item"])
    _, _, output = run_agent(sim, folder, A.TRIPWIRES, (PLAN_OUT, GAPS_OUT), index=7)
    with pytest.raises(OutputRejected, match="missing key: candidates"):
        check_file(A.TRIPWIRES, output.read_text(), title=TITLE)


def test_the_other_misbehaviours(sim, folder):
    def diff_agent(behaviour: str):
        sim.set_rules([behaviour])
        return run_agent(sim, folder, A.DIFF, DIFF_INPUTS)

    convo, _, output = diff_agent("inline")
    assert convo.stops == ["tool_use", "end_turn"] and not output.exists()
    assert "## Inventory" in convo.final_text

    convo, _, output = diff_agent("no-write")
    assert convo.stops == ["tool_use", "end_turn"] and not output.exists()
    assert convo.final_text == final_message(str(output))

    convo, _, output = diff_agent("write-outside")
    assert convo.calls[-1] == ("write_file", {"path": OUTSIDE_PATH, "content": convo.calls[-1][1]["content"]})
    assert not output.exists() and "refused" in convo.final_text

    convo, _, output = diff_agent("max-tokens")
    assert convo.stops == ["tool_use", "max_tokens"] and not output.exists()

    convo, toolbox, output = diff_agent("wrong-final")
    assert convo.final_text == WRONG_FINAL
    assert output.read_text() == expected(folder, A.DIFF, DIFF_INPUTS, toolbox)

    output.unlink()
    convo, _, output = diff_agent("refusal")
    assert convo.stops == ["refusal"] and not output.exists()


def test_a_conversation_without_an_assignment_gets_a_plain_answer(sim):
    response = client(sim.url).messages.create(
        model=MODEL,
        max_tokens=500,
        system=[{"type": "text", "text": prompts.SYSTEM_PROMPT}],
        messages=[{"role": "user", "content": "hi"}],
    )
    assert response.stop_reason == "end_turn"
    assert "could not find my assignment" in response.content[0].text
