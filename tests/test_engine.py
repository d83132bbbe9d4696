"""The engine through its public functions: create a run, let the (in-process) tasks run, check the result.

Tasks run synchronously at enqueue time here (``sync_tasks``); the real cluster is exercised by
tests/test_e2e.py. ``transaction=True`` because batches are enqueued on commit. The states a crash can
leave a run in are tests/test_driver.py's.
"""

import json
from datetime import date
from pathlib import Path

import pytest
from django_q.exceptions import TimeoutException

from runs import attempt, engine
from runs.errors import InputError
from runs.models import Batch, BatchStatus, ItemResult, Run, RunStatus
from runs.operations.audit_scan.batchfile import parse_batch
from runs.operations.audit_scan.local import local_batch_text
from runs.scratch import output_file, run_scratch
from runs.summary import run_json

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF_DATE = date.fromisoformat(AS_OF)


def start(docs_root, *, model="local", agents=3, **params):
    return engine.create_run(
        "audit-scan", {"docs_root": str(docs_root), **params}, model=model, agents=agents, as_of=AS_OF_DATE
    )


def reload(run) -> Run:
    return Run.objects.get(pk=run.pk)


def signals_by_path(run) -> dict:
    return {item.key: item.data for item in ItemResult.objects.filter(run=run)}


def test_local_run_verifies_every_batch_and_aggregates(docs_root, sync_tasks):
    run = reload(start(docs_root, agents=2))
    assert run.status == RunStatus.SUCCEEDED, run.error
    # 7 docs: index.md is auto-generated (skipped), recent.md audited within 7 days (excluded).
    assert run.summary["scanned"] == 5
    assert run.summary["skipped"] == 1
    assert run.summary["excluded"] == 1
    batches = list(run.batches.order_by("index"))
    assert [b.status for b in batches] == [BatchStatus.VERIFIED] * 2
    # Round-robin over the sorted paths.
    items = run.manifest["items"]
    assert items == sorted(items)
    assert batches[0].inputs == items[0::2] and batches[1].inputs == items[1::2]
    for batch in batches:
        text = output_file(batch).read_text()
        assert batch.output == text and len(batch.output_sha256) == 64
        assert [r["path"] for r in parse_batch(text, batch.inputs)] == batch.inputs
        assert batch.output_path == f"batch-{batch.index}.md"
    report = (run_scratch(run) / "report.md").read_text()
    assert report == run.report and report.startswith("# Doc Audit Scan Results")
    assert ItemResult.objects.filter(run=run).count() == 5
    overview = signals_by_path(run)["arch/overview.md"]
    assert overview["broken_paths"] == 1  # src/acme/missing.py
    assert overview["code_blocks"] == 1 and overview["import_count"] == 2
    assert run.finished_at and run.started_at and run.cost_usd == 0


def test_manifest_makes_the_run_reproducible(docs_root, sync_tasks):
    run = reload(start(docs_root, agents=2))
    m = run.manifest
    assert m["operation"] == "audit-scan" and m["model"] == "local" and m["model_id"] == "local"
    assert m["agents"] == 2 and m["batches"] == 2 and len(m["prompt_hash"]) == 64
    assert m["params"]["docs_root"] == str(docs_root.resolve())
    assert m["params"]["repo_root"] == str(docs_root.resolve().parent.parent)
    assert m["params"]["as_of"] == AS_OF
    assert m["partition"] == [b.inputs for b in run.batches.order_by("index")]
    assert m["app_version"]
    on_disk = json.loads((run_scratch(run) / "manifest.json").read_text())
    assert on_disk["items"] == m["items"]


def test_fewer_items_than_agents_gives_no_empty_batch(docs_root, sync_tasks):
    run = reload(start(docs_root, agents=50))
    assert run.batches.count() == 5
    assert run.status == RunStatus.SUCCEEDED


def test_bad_inputs_create_nothing(docs_root, tmp_path):
    cases = [
        ({"docs_root": str(tmp_path / "nope")}, "local", 2),
        ({"docs_root": str(docs_root / "arch" / "overview.md")}, "local", 2),
        ({"docs_root": str(docs_root), "category": "nope"}, "local", 2),
        ({"docs_root": str(docs_root)}, "gpt-9", 2),
        ({"docs_root": str(docs_root)}, "local", 0),
    ]
    for params, model, agents in cases:
        with pytest.raises(InputError):
            engine.create_run("audit-scan", params, model=model, agents=agents)
    with pytest.raises(InputError, match="unknown operation"):
        engine.create_run("audit-everything", {"docs_root": str(docs_root)}, model="local", agents=2)
    assert Run.objects.count() == 0 and Batch.objects.count() == 0


def test_claude_model_without_simulator_or_key_is_a_clear_error(docs_root):
    with pytest.raises(InputError, match=r"python manage\.py simulator"):
        start(docs_root, model="haiku")
    assert Run.objects.count() == 0


def test_haiku_through_the_simulator_agrees_with_local(docs_root, sync_tasks, simulator):
    local = reload(start(docs_root, agents=2))
    haiku = reload(start(docs_root, model="haiku", agents=2))
    assert haiku.status == RunStatus.SUCCEEDED, haiku.error
    assert haiku.used_simulator and haiku.model_id == "claude-haiku-5-5"
    assert signals_by_path(haiku) == signals_by_path(local)
    for batch in haiku.batches.all():
        assert batch.turns == 4, "read all, check paths, write, final message"
        assert batch.protocol_warnings == []
        assert batch.final_message == f"Output written to {output_file(batch)}"
        roles = list(batch.transcript_entries.values_list("role", flat=True))
        assert roles[:2] == ["system", "user"] and roles.count("assistant") == 4
        assert batch.cache_write_tokens > 0 and batch.output_tokens > 0 and batch.cost_usd > 0
    # The second batch found the shared system prompt in the cache.
    assert haiku.batches.get(index=2).cache_read_tokens > 0
    assert haiku.cost_usd == sum(b.cost_usd for b in haiku.batches.all())
    assert haiku.total_tokens > 0


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("no-write", "missing file"),
        ("empty-file", "empty file"),
        ("malformed-file", "block 2: lines is not a whole number"),
        ("missing-item", "missing: "),
        ("max-tokens", "truncated"),
        ("refusal", "refused"),
    ],
)
def test_a_bad_batch_fails_the_run_by_name(docs_root, sync_tasks, simulator, behaviour, reason):
    simulator.set_rules([{"behaviour": behaviour, "batch": 2}])
    run = reload(start(docs_root, model="haiku", agents=2))
    assert run.status == RunStatus.FAILED
    failed = run.batches.get(index=2)
    assert failed.status == BatchStatus.FAILED and reason in failed.failure_reason
    assert run.batches.get(index=1).status == BatchStatus.VERIFIED
    assert run.error.startswith("1 batch failed (2): batch 2: ") and reason in run.error
    assert not run.report
    # The verified batch's items are kept (the record, for a retry to complete), never shown as a result.
    kept = run.batches.get(index=1).inputs
    assert sorted(ItemResult.objects.filter(run=run).values_list("key", flat=True)) == sorted(kept)
    assert run_json(run)["items"] == {} and sum(run_json(run)["tiers"].values()) == 0
    # Nothing is lost: the good batch's file stays, and so does the manifest.
    assert output_file(run.batches.get(index=1)).is_file()
    assert (run_scratch(run) / "manifest.json").is_file()


def test_retry_runs_only_the_failed_batches_and_completes_the_run(docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "empty-file", "batch": 2, "times": 1}])
    run = reload(start(docs_root, model="haiku", agents=3))
    assert run.status == RunStatus.FAILED
    first_turns = {b.index: b.attempts for b in run.batches.all()}
    assert engine.retry_failed(run) == [2]
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    attempts = {b.index: b.attempts for b in run.batches.all()}
    assert attempts == {1: first_turns[1], 2: 2, 3: first_turns[3]}
    assert ItemResult.objects.filter(run=run).count() == 5
    with pytest.raises(InputError, match="no failed batches"):
        engine.retry_failed(run)


def test_wrong_final_message_is_a_warning_and_the_file_decides(docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "wrong-final", "batch": 1}])
    run = reload(start(docs_root, model="haiku", agents=2))
    assert run.status == RunStatus.SUCCEEDED
    warnings = run.batches.get(index=1).protocol_warnings
    assert len(warnings) == 1 and "final message was not" in warnings[0]


def test_write_outside_the_output_path_is_refused(docs_root, sync_tasks, simulator, tmp_path):
    simulator.set_rules([{"behaviour": "write-outside", "batch": 1}])
    run = reload(start(docs_root, model="haiku", agents=2))
    batch = run.batches.get(index=1)
    assert batch.status == BatchStatus.FAILED and batch.failure_reason == "missing file"
    assert any("refused write_file" in w for w in batch.protocol_warnings)
    assert not list(tmp_path.rglob("escape.md"))


def test_cancel_stops_pending_batches(docs_root, held_tasks):
    # The tasks are held back, so the batches stay pending, as if no worker had taken them yet.
    run = start(docs_root, agents=2)
    assert reload(run).status == RunStatus.RUNNING and len(held_tasks) == 2
    assert engine.cancel_run(reload(run))
    run = reload(run)
    assert run.status == RunStatus.CANCELLED
    assert set(run.batches.values_list("status", flat=True)) == {BatchStatus.CANCELLED}
    # A task delivered after the cancel does nothing.
    engine.execute_batch(held_tasks[0])
    assert not output_file(run.batches.first()).exists()
    assert run.batches.get(pk=held_tasks[0]).attempts == 0
    assert not engine.cancel_run(reload(run))


def test_worker_timeout_marks_the_batch_failed(docs_root, sync_tasks, monkeypatch):
    def overrun(*args):
        raise TimeoutException("Task exceeded maximum timeout value (660 seconds)")

    monkeypatch.setattr(attempt, "fill", overrun)
    run = reload(start(docs_root, agents=2))
    assert run.status == RunStatus.FAILED
    assert all(b.failure_reason.startswith("timed out") for b in run.batches.all())


def test_crash_in_an_executor_is_recorded_not_raised(docs_root, sync_tasks, monkeypatch):
    def crash(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(attempt, "fill", crash)
    run = reload(start(docs_root, agents=1))
    assert run.status == RunStatus.FAILED
    assert "internal error: RuntimeError: disk on fire" in run.error


def test_local_output_matches_the_batch_files(docs_root, sync_tasks):
    run = reload(start(docs_root, agents=2))
    for batch in run.batches.all():
        expected = local_batch_text(
            batch.inputs, Path(run.params["docs_root"]), Path(run.params["repo_root"])
        )
        assert output_file(batch).read_text() == expected == batch.output


def test_a_miscounting_model_shows_in_the_comparison(docs_root, sync_tasks, simulator):
    """The simulator can play a weaker model: its runs still verify, and the comparison names what differs."""
    from runs.compare import compare_runs

    simulator.set_rules([{"behaviour": "miscount", "model": "haiku"}])
    local = reload(start(docs_root, agents=2))
    haiku = reload(start(docs_root, model="haiku", agents=2))
    sonnet = reload(start(docs_root, model="sonnet", agents=2))
    assert haiku.status == sonnet.status == RunStatus.SUCCEEDED
    assert signals_by_path(sonnet) == signals_by_path(local)
    assert signals_by_path(haiku) != signals_by_path(local)
    comparison = compare_runs(local.run_id, haiku.run_id)
    assert comparison.ground_truth == "a" and comparison.disagreements
    assert min(comparison.accuracy.values()) < 1.0
