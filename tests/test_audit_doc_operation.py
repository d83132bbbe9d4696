"""audit-doc as an operation, through the engine: from a scan's top N or explicit docs, one agent per doc,
local (the heuristic) and the simulator's model, verification, the report, erk show --json; and every bad
input refused before a run exists."""

import hashlib
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from runs import engine
from runs.errors import InputError
from runs.models import Run, RunStatus
from runs.operations.audit_doc.local import local_audit_text
from runs.scratch import output_file
from runs.summary import run_json

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF_DATE = date.fromisoformat(AS_OF)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def scan(docs_root, **kw) -> Run:
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=AS_OF_DATE, **kw
    )
    return Run.objects.get(pk=run.pk)


def audit(params, model="local") -> Run:
    run = engine.create_run("audit-doc", params, model=model, as_of=AS_OF_DATE)
    return Run.objects.get(pk=run.pk)


def test_top_n_of_a_scan_is_audited_one_agent_per_doc_by_the_heuristic(docs_root, repo, sync_tasks):
    scanned = scan(docs_root)
    # The scan's ranking, worked out from its own rows: highest score first, ties by item order.
    rows = sorted(scanned.items.all(), key=lambda item: (-item.score, item.position))
    expected = [item.key for item in rows[:3]]

    run = audit({"from_run": scanned.run_id, "top": "3"})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.params["doc"] == expected and run.manifest["items"] == expected
    assert run.params["docs_root"] == str(docs_root) and run.params["repo_root"] == str(repo)
    batches = list(run.batches.order_by("index"))
    assert [b.inputs for b in batches] == [[f"doc/{doc}"] for doc in expected]
    assert [b.output_path for b in batches] == ["audit-1.md", "audit-2.md", "audit-3.md"]
    for doc, batch in zip(expected, batches, strict=True):
        raw = (docs_root / doc).read_bytes()
        # The manifest records the hash of exactly the bytes the agent was given.
        assert run.manifest["params"]["doc_sha256"][doc] == hashlib.sha256(raw).hexdigest()
        assert batch.output == local_audit_text(doc, raw.decode(), repo)
        assert output_file(batch).read_text() == batch.output
    items = {item.key: item for item in run.items.all()}
    assert list(items) == expected
    # The report says plainly that a heuristic wrote it, and lists every doc with its verdict.
    assert "**local heuristic**" in run.report.splitlines()[2]
    for doc in expected:
        # Each doc's name links to its history.
        link = f"/docs/history/?root={quote_plus(str(docs_root))}&doc={quote_plus(doc)}"
        assert f"| [{doc}]({link}) | {items[doc].group} |" in run.report


def test_explicit_docs_and_what_the_json_says(docs_root, repo, sync_tasks):
    run = audit({"docs_root": str(docs_root), "doc": ["arch/overview.md", "./cli/flags.md"]})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.params["doc"] == ["arch/overview.md", "cli/flags.md"]
    data = run_json(run)
    assert data["heuristic"] is True and set(data["docs"]) == {"arch/overview.md", "cli/flags.md"}
    overview = data["docs"]["arch/overview.md"]
    # The overview names src/acme/missing.py, which is not in the repo: a BROKEN path finding, so the
    # doc cannot be KEEP; its counts are those of its findings.
    broken_paths = [f for f in overview["findings"] if f["kind"] == "path" and f["status"] == "BROKEN"]
    assert [f["subject"] for f in broken_paths] == ["src/acme/missing.py"]
    assert overview["broken"] == sum(
        f["status"] in ("BROKEN", "MISSING", "MISMATCH") for f in overview["findings"]
    )
    assert overview["verdict"] != "KEEP"
    assert overview["revision_proposed"] == (
        overview["verdict"] in ("SIMPLIFY", "REPLACE WITH CODE REFS", "NEEDS UPDATE")
    )
    assert data["verdicts"][overview["verdict"]] >= 1


def test_the_simulators_model_writes_what_local_writes(docs_root, repo, sync_tasks, simulator):
    params = {"docs_root": str(docs_root), "doc": ["arch/overview.md", "cli/flags.md"]}
    local = audit(params)
    sonnet = audit(params, model="sonnet")
    assert sonnet.status == RunStatus.SUCCEEDED, sonnet.error
    assert sonnet.used_simulator
    for a, b in zip(local.batches.order_by("index"), sonnet.batches.order_by("index"), strict=True):
        assert b.output == a.output
        assert b.turns == 4 and b.protocol_warnings == []
    calls = [
        (block["name"], block["input"])
        for entry in sonnet.batches.get(index=1).transcript_entries.filter(role="assistant")
        for block in entry.content.get("content", [])
        if block.get("type") == "tool_use"
    ]
    # It read its doc at its path in the repository, checked its paths, and searched the code for the
    # symbol it names (search_code is offered to audit-doc's agents only).
    assert calls[0] == ("read_file", {"path": "docs/learned/arch/overview.md"})
    assert ("path_exists", {"path": "src/acme/missing.py"}) in calls
    assert ("search_code", {"query": "class BatchRunner"}) in calls
    assert calls[-1][0] == "write_file"
    assert "heuristic" not in sonnet.report


def test_the_agent_reads_the_doc_as_it_was_when_the_run_was_created(docs_root, repo, held_tasks, simulator):
    run = engine.create_run(
        "audit-doc", {"docs_root": str(docs_root), "doc": ["cli/flags.md"]}, model="sonnet", as_of=AS_OF_DATE
    )
    original = (docs_root / "cli/flags.md").read_text()
    (docs_root / "cli/flags.md").write_text("# Changed\n\nSomething else.\n")
    engine.execute_batch(held_tasks[0])
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.batches.get().output == local_audit_text("cli/flags.md", original, repo)


def test_a_failed_doc_is_named_and_retried_alone(docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "malformed-file", "batch": 2, "times": 1}])
    run = audit({"docs_root": str(docs_root), "doc": ["arch/overview.md", "cli/flags.md"]}, model="sonnet")
    assert run.status == RunStatus.FAILED
    failed = run.batches.get(index=2)
    assert failed.status == "failed" and "verified is not a whole number" in failed.failure_reason
    assert run.batches.get(index=1).status == "verified"
    assert engine.retry_failed(run) == [2]
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.batches.get(index=1).attempts == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"doc": ["a.md"]}, "needs a scan (--from-run) or a docs root"),
        ({"docs_root": "{root}"}, "name the docs to audit"),
        ({"docs_root": "{root}", "doc": ["../../etc/passwd"]}, "is not a doc path inside the docs root"),
        ({"docs_root": "{root}", "doc": ["/etc/passwd"]}, "is not a doc path inside the docs root"),
        ({"docs_root": "{root}", "doc": ["escape/out.md"]}, "is outside the docs root"),
        ({"docs_root": "{root}", "doc": ["cli/nope.md"]}, "cli/nope.md does not exist"),
        ({"docs_root": "{root}", "doc": ["cli/flags.md"], "top": "3"}, "top N needs a scan"),
        ({"from_run": "audit-scan-20990101-000000-beef"}, "no run 'audit-scan-20990101-000000-beef'"),
        ({"from_run": "{scan}", "top": "0"}, "top must be a whole number >= 1, not 0"),
        ({"from_run": "{scan}", "top": "many"}, "top must be a whole number >= 1, not 'many'"),
        ({"from_run": "{scan}", "top": "2", "doc": ["cli/flags.md"]}, "not both"),
        ({"from_run": "{scan}", "doc": ["cli/recent.md"]}, "is not a doc audit-scan-"),
        ({"from_run": "{scan}", "docs_root": "{tmp}"}, "scanned"),
        ({"from_run": "{audit}"}, "is a audit-doc run, not an audit-scan"),
        ({"from_run": "{failed}"}, "is failed: audit the docs of a succeeded scan"),
    ],
)
def test_bad_input_is_refused_before_any_run_exists(
    docs_root, tmp_path, sync_tasks, simulator, params, message
):
    (docs_root / "escape").symlink_to(tmp_path)
    (tmp_path / "out.md").write_text("# Outside\n")
    good = scan(docs_root)
    done = audit({"docs_root": str(docs_root), "doc": ["cli/flags.md"]})
    simulator.set_rules([{"behaviour": "no-write"}])
    failed = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="haiku", agents=1, as_of=AS_OF_DATE
    )
    ids = {
        "{root}": str(docs_root),
        "{scan}": good.run_id,
        "{audit}": done.run_id,
        "{failed}": failed.run_id,
        "{tmp}": str(tmp_path),
    }
    filled = {
        key: value if isinstance(value, list) else ids.get(value, value) for key, value in params.items()
    }
    before = Run.objects.count()
    with pytest.raises(InputError, match=re.escape(message)):
        engine.prepare_run("audit-doc", filled, model="local", as_of=AS_OF_DATE)
    assert Run.objects.count() == before


def test_search_code_is_audit_docs_tool_only_and_the_estimate_counts_it(docs_root, tmp_path, simulator):
    from runs.estimate import estimate, preview_estimate
    from runs.operations import get_operation

    prepared = engine.prepare_run(
        "audit-doc", {"docs_root": str(docs_root), "doc": ["cli/flags.md"]}, model="sonnet", as_of=AS_OF_DATE
    )
    prompt = prepared.op.system_prompt(None, None)
    # The estimate of the same plan without the tool is lower: every request carries the tool list.
    assert (
        preview_estimate(prepared, prompt).billed_tokens
        > estimate(prepared.plan, prepared.executor_for, prompt).billed_tokens
    )
    scan_run = engine.create_run("audit-scan", {"docs_root": str(docs_root)}, model="local", agents=1)
    scan_batch = scan_run.batches.get()
    scan_tools = get_operation("audit-scan").toolbox(scan_run, scan_batch, tmp_path / "out.md").schemas
    assert "search_code" not in {tool["name"] for tool in scan_tools}
