"""The driver: every state a crash can leave a run in, built in the database, is moved on by ``advance``.

The list of states is runs/driver.py's docstring; each test below names its number there. Tasks the
driver enqueues run in-process (``sync_tasks``) unless a test holds them back (``held_tasks``), so an
``advance`` that moves a run on is seen to the run's end.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models.functions import Now

from runs import driver, engine
from runs.models import Batch, BatchStatus, ClusterHeartbeat, ItemResult, Run, RunStatus
from runs.operations.audit_scan.local import local_batch_text
from runs.scratch import output_file
from runs.workers import worker_name

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_WORKER = "otherhost:4242:deadbeef"  # a worker on another host that stopped long ago
LIVE_WORKER = "otherhost:4343:feedface"  # a worker on another host that is alive


def heartbeat(worker: str, seconds_ago: float = 0) -> None:
    host, pid, _ = worker.split(":")
    ClusterHeartbeat.objects.update_or_create(
        worker=worker, defaults={"host": host, "pid": int(pid), "cluster": host, "beat_at": ago(seconds_ago)}
    )


def scan(docs_root, *, agents=2) -> Run:
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="local",
        agents=agents,
        as_of=date.fromisoformat(AS_OF),
    )
    return Run.objects.get(pk=run.pk)


def reload(run) -> Run:
    return Run.objects.get(pk=run.pk)


def ago(seconds: float):
    return Now() - timedelta(seconds=seconds)


def rewind_to_running(run: Run, **fields) -> None:
    """A succeeded run put back to where it was before aggregation, as a crash would have left it (its
    items were saved as each batch was verified)."""
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, report="", finished_at=None, **fields)


def expected_text(run: Run, batch: Batch) -> str:
    return local_batch_text(batch.inputs, Path(run.params["docs_root"]), Path(run.params["repo_root"]))


def test_1_a_run_whose_first_stage_never_started(docs_root, sync_tasks, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(driver, "start_stage", lambda run, stage: False)  # the creator died first
        run = scan(docs_root)
    assert run.status == RunStatus.PENDING and run.current_stage == 0
    steps = engine.advance(run.pk)
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert steps[0] == "started stage 1"
    assert ItemResult.objects.filter(run=run).count() == 5


def test_2_pending_batches_whose_enqueueing_was_lost(docs_root, held_tasks, sync_tasks):
    run = scan(docs_root)
    # The stage was started, but what its batches were enqueued with never reached a worker.
    Batch.objects.filter(run=run).update(status=BatchStatus.WAITING)
    held_tasks.clear()
    steps = engine.advance(run.pk)
    assert steps == ["enqueued batch 1; enqueued batch 2"]
    assert sorted(held_tasks) == sorted(run.batches.values_list("pk", flat=True))
    for pk in held_tasks:  # a worker takes them
        engine.execute_batch(pk)
    assert reload(run).status == RunStatus.SUCCEEDED


def test_3_a_running_batch_whose_worker_stopped_is_taken_over(docs_root, sync_tasks, held_tasks):
    run = scan(docs_root, agents=1)
    batch = run.batches.get()
    stale = settings.ERKWEB_WORKER_STALE
    heartbeat(DEAD_WORKER, seconds_ago=stale + 1)
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, attempts=1, claims=1, worker=DEAD_WORKER, started_at=ago(stale + 5)
    )
    output_file(batch).parent.mkdir(parents=True, exist_ok=True)
    output_file(batch).write_text("path: half-writ")  # what the lost attempt left
    held_tasks.clear()
    assert engine.advance(run.pk) == ["took over batch 1 (attempt 1's worker otherhost:4242 stopped)"]
    engine.execute_batch(held_tasks[0])
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VERIFIED and batch.attempts == 2 and batch.worker == worker_name()
    assert reload(run).status == RunStatus.SUCCEEDED
    assert output_file(batch).read_text() == expected_text(run, batch), "rerun from scratch"


def test_3_a_batch_whose_worker_process_is_gone_from_this_host_is_taken_over_at_once(docs_root, held_tasks):
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    worker = f"{socket.gethostname()}:{gone.pid}:cafe0001"
    heartbeat(worker)  # its heartbeat is fresh: the process died a moment ago
    run = scan(docs_root, agents=1)
    Batch.objects.filter(run=run).update(
        status=BatchStatus.RUNNING, attempts=1, claims=1, worker=worker, started_at=ago(30)
    )
    held_tasks.clear()
    assert engine.advance(run.pk) == [f"took over batch 1 (attempt 1's worker {worker[:-9]} stopped)"]
    assert run.batches.get().status == BatchStatus.PENDING and held_tasks == [run.batches.get().pk]


def test_3_a_running_batch_past_its_time_is_taken_over(docs_root, held_tasks):
    run = scan(docs_root, agents=1)
    heartbeat(LIVE_WORKER)  # alive, but hung: its batch outlived the worker's timeout
    Batch.objects.filter(run=run).update(
        status=BatchStatus.RUNNING,
        attempts=1,
        claims=1,
        worker=LIVE_WORKER,
        started_at=ago(settings.ERKWEB_BATCH_OVERDUE + 1),
    )
    assert engine.advance(run.pk) == ["took over batch 1 (attempt 1 ran past its time)"]


def test_3_a_batch_whose_attempts_are_spent_fails_and_fails_its_run(docs_root, held_tasks):
    run = scan(docs_root, agents=1)
    batch = run.batches.get()
    spent = settings.ERKWEB_BATCH_MAX_ATTEMPTS
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, attempts=spent, claims=spent, worker=DEAD_WORKER, started_at=ago(60)
    )
    engine.advance(run.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert batch.failure_reason == (
        f"worker lost: attempt {spent}'s worker otherhost:4242 stopped; {spent} attempts spent"
    )
    run = reload(run)
    assert run.status == RunStatus.FAILED and run.error.startswith("1 batch failed (1): batch 1: worker lost")


def test_a_running_batch_whose_worker_is_alive_is_left_to_it(
    docs_root, held_tasks, django_assert_num_queries
):
    run = scan(docs_root, agents=2)
    heartbeat(LIVE_WORKER)
    Batch.objects.filter(run=run).update(
        status=BatchStatus.RUNNING, attempts=1, claims=1, worker=LIVE_WORKER, started_at=ago(120)
    )
    # Cheap when there is nothing to do: the run (with the database's clock), its batches, and which of
    # their workers are alive.
    with django_assert_num_queries(3):
        assert engine.advance(run.pk) == []
    # A duplicate delivery of the task is refused: the batch is held by its first attempt.
    engine.execute_batch(run.batches.first().pk)
    assert set(run.batches.values_list("status", "attempts")) == {(BatchStatus.RUNNING, 1)}
    assert not output_file(run.batches.first()).exists(), "the duplicate did not run the batch"


def test_4_a_written_batch_never_verified_is_verified_on_its_host(docs_root, held_tasks):
    run = scan(docs_root, agents=1)
    batch = run.batches.get()
    output_file(batch).parent.mkdir(parents=True, exist_ok=True)
    output_file(batch).write_text(expected_text(run, batch))
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.WRITTEN, attempts=1, claims=1, worker=worker_name(), written_at=ago(60)
    )
    assert engine.advance(run.pk)[0] == "verified batch 1"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VERIFIED and batch.attempts == 1, "verified, not run again"
    assert reload(run).status == RunStatus.SUCCEEDED


def test_4_a_written_batch_just_written_is_left_to_its_worker(docs_root, held_tasks):
    run = scan(docs_root, agents=1)
    heartbeat(worker_name())  # this process, alive, about to verify it
    Batch.objects.filter(run=run).update(
        status=BatchStatus.WRITTEN,
        attempts=1,
        claims=1,
        worker=worker_name(),
        started_at=ago(5),
        written_at=Now(),
    )
    assert engine.advance(run.pk) == []


def test_4_a_written_batch_whose_file_is_on_another_host_is_run_again(docs_root, sync_tasks, held_tasks):
    run = scan(docs_root, agents=1)
    batch = run.batches.get()
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.WRITTEN, attempts=1, claims=1, worker=DEAD_WORKER, written_at=ago(60)
    )
    held_tasks.clear()
    assert engine.advance(run.pk)[0].startswith("took over batch 1")
    engine.execute_batch(held_tasks[0])
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VERIFIED and batch.attempts == 2
    assert reload(run).status == RunStatus.SUCCEEDED


def test_5_the_next_stage_never_started(tmp_path, sync_tasks):
    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path)
    params = {"title": TITLE, "repo_root": str(made["repo"]), "sessions": [str(made["sessions"])]}
    run = reload(engine.create_run("learn", params, model="local"))
    assert run.status == RunStatus.SUCCEEDED, run.error
    # Back to the moment stage 1 ended, before anyone started stage 2.
    Batch.objects.filter(run=run, stage__gt=1).update(
        status=BatchStatus.WAITING, attempts=0, claims=0, started_at=None, finished_at=None
    )
    rewind_to_running(run, current_stage=1)
    steps = engine.advance(run.pk)
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert steps[0] == "started stage 2"
    assert set(run.batches.values_list("status", "attempts")) == {(BatchStatus.VERIFIED, 1)}
    assert run.report.startswith(f"# Documentation Plan: {TITLE}")


def test_6_every_batch_verified_and_no_aggregation_begun(docs_root, sync_tasks):
    run = scan(docs_root)
    rewind_to_running(run)
    assert engine.advance(run.pk) == ["aggregated"]
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED and run.report.startswith("# Doc Audit Scan Results")
    assert ItemResult.objects.filter(run=run).count() == 5


def test_7_an_aggregation_whose_lease_expired_is_taken_over(docs_root, sync_tasks):
    run = scan(docs_root)
    rewind_to_running(run)
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.AGGREGATING, lease_owner=DEAD_WORKER, lease_expires_at=ago(1)
    )
    assert engine.advance(run.pk) == ["aggregated (took over the lease)"]
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED and run.lease_owner == ""
    assert ItemResult.objects.filter(run=run).count() == 5


def test_7_an_aggregation_under_a_live_lease_is_left_to_its_holder(docs_root, sync_tasks):
    run = scan(docs_root)
    rewind_to_running(run)
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.AGGREGATING, lease_owner=DEAD_WORKER, lease_expires_at=Now() + timedelta(seconds=60)
    )
    assert engine.advance(run.pk) == []
    assert reload(run).status == RunStatus.AGGREGATING


def test_8_every_batch_ended_some_failed(docs_root, sync_tasks):
    run = scan(docs_root)
    rewind_to_running(run)
    Batch.objects.filter(run=run, index=2).update(status=BatchStatus.FAILED, failure_reason="empty file")
    assert engine.advance(run.pk) == ["failed the run"]
    run = reload(run)
    assert run.status == RunStatus.FAILED and run.error == "1 batch failed (2): batch 2: empty file"
    assert run.finished_at is not None


def test_9_a_cancelled_run_with_batches_left_open(docs_root, held_tasks):
    run = scan(docs_root, agents=3)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED, finished_at=Now())
    Batch.objects.filter(run=run, index=1).update(
        status=BatchStatus.RUNNING, attempts=1, claims=1, worker=DEAD_WORKER, started_at=ago(60)
    )
    heartbeat(LIVE_WORKER)
    Batch.objects.filter(run=run, index=2).update(
        status=BatchStatus.RUNNING, attempts=1, claims=1, worker=LIVE_WORKER, started_at=ago(60)
    )
    # The sweep finds it although it is finished: it has batches in flight.
    assert engine.sweep() == 1
    # The lost attempt's batch and the pending one are cancelled; the live one stops at its next turn.
    statuses = dict(run.batches.values_list("index", "status"))
    assert statuses == {1: BatchStatus.CANCELLED, 2: BatchStatus.RUNNING, 3: BatchStatus.CANCELLED}
    Batch.objects.filter(run=run, index=2).update(status=BatchStatus.CANCELLED)
    assert engine.sweep() == 0


def test_10_a_retry_half_done_fails_the_run_again(docs_root, sync_tasks):
    run = scan(docs_root)
    # The run was reopened for a retry, and its failed batch never enqueued.
    rewind_to_running(run)
    Batch.objects.filter(run=run, index=1).update(status=BatchStatus.FAILED, failure_reason="empty file")
    engine.advance(run.pk)
    run = reload(run)
    assert run.status == RunStatus.FAILED and "batch 1: empty file" in run.error
    assert engine.retry_failed(run) == [1]
    assert reload(run).status == RunStatus.SUCCEEDED


def test_the_sweep_advances_every_unfinished_run_and_only_those(docs_root, sync_tasks, monkeypatch):
    done = scan(docs_root)
    with monkeypatch.context() as patched:
        patched.setattr(driver, "start_stage", lambda run, stage: False)
        stuck = [scan(docs_root), scan(docs_root)]
    seen = []
    real_advance = driver.advance
    monkeypatch.setattr(driver, "advance", lambda pk: seen.append(pk) or real_advance(pk))
    assert engine.sweep() == 2
    assert set(seen) == {r.pk for r in stuck} and done.pk not in seen
    assert {reload(r).status for r in stuck} == {RunStatus.SUCCEEDED}
