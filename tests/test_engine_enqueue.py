"""Enqueueing that cannot be lost: with the ORM broker a batch is pending if and only if its task exists
(both are written in one transaction); with a broker outside the database the driver enqueues a batch
again when its task was lost; a retry is one transaction.

No ``sync_tasks`` here: tasks are django-q2's real ORM broker rows (``OrmQ``), left undelivered.
"""

import time
from datetime import date

import django_q.tasks
import pytest
from django.db.models.functions import Now
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from runs import driver, engine, queue
from runs.models import Batch, BatchStatus, ClusterHeartbeat, Run, RunStatus

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def scan(docs_root, *, agents=2) -> Run:
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="local",
        agents=agents,
        as_of=date.fromisoformat(AS_OF),
    )
    return Run.objects.get(pk=run.pk)


def queued_batches() -> list[int]:
    """The batch of every task waiting in the ORM broker."""
    return sorted(SignedPackage.loads(task.payload)["args"][0] for task in OrmQ.objects.all())


class BrokerDown(Exception):
    pass


def broker_down(*args, **kwargs):
    raise BrokerDown("the broker refused the task")


def test_a_new_run_has_a_task_for_every_pending_batch(docs_root):
    assert queue.transactional()
    run = scan(docs_root, agents=3)
    pending = sorted(run.batches.filter(status=BatchStatus.PENDING).values_list("pk", flat=True))
    assert len(pending) == 3 and queued_batches() == pending


def test_a_run_whose_tasks_cannot_be_enqueued_is_not_created(docs_root, monkeypatch):
    monkeypatch.setattr(django_q.tasks, "async_task", broker_down)
    with pytest.raises(BrokerDown):
        scan(docs_root)
    assert Run.objects.count() == Batch.objects.count() == OrmQ.objects.count() == 0


def test_a_stage_whose_enqueueing_fails_is_started_again_later(docs_root, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(driver, "start_stage", lambda run, stage: False)
        run = scan(docs_root)
    with monkeypatch.context() as patched:
        patched.setattr(django_q.tasks, "async_task", broker_down)
        with pytest.raises(BrokerDown):
            engine.advance(run.pk)
    # Nothing half done: the stage did not start, no batch is pending without its task.
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.current_stage) == (RunStatus.PENDING, 0)
    assert set(run.batches.values_list("status", flat=True)) == {BatchStatus.WAITING}
    assert OrmQ.objects.count() == 0
    assert engine.advance(run.pk) == ["started stage 1"]
    assert queued_batches() == sorted(run.batches.values_list("pk", flat=True))


def test_a_retry_is_one_transaction(docs_root, monkeypatch):
    run = scan(docs_root)
    OrmQ.objects.all().delete()
    Batch.objects.filter(run=run).update(status=BatchStatus.FAILED, failure_reason="empty file")
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="2 batches failed")
    sent = []

    def second_fails(*args, **kwargs):
        if sent:
            raise BrokerDown("the broker refused the task")
        sent.append(args)

    monkeypatch.setattr(django_q.tasks, "async_task", second_fails)
    with pytest.raises(BrokerDown):
        engine.retry_failed(Run.objects.get(pk=run.pk))
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.FAILED and run.error == "2 batches failed"
    assert set(run.batches.values_list("status", flat=True)) == {BatchStatus.FAILED}


def test_a_pending_batch_whose_task_was_lost_is_enqueued_again(docs_root, held_tasks, monkeypatch, settings):
    # A broker outside the database (Redis): its tasks are sent after the transaction commits.
    monkeypatch.setattr(queue, "transactional", lambda: False)
    settings.ERKWEB_CLAIM_TIMEOUT = 1.0
    run = scan(docs_root)
    held_tasks.clear()  # the process died before sending them, or the broker lost them
    assert engine.advance(run.pk) == [], "within the claim timeout: the tasks may still be on their way"
    # Waited past the timeout, its enqueued_at as the database wrote it (not made up by the test).
    time.sleep(1.2)
    busy = ClusterHeartbeat.objects.create(worker="h:1:a", host="h", pid=1, cluster="h:0")
    Batch.objects.filter(run=run, index=1).update(
        status=BatchStatus.RUNNING, worker=busy.worker, attempts=1, started_at=Now()
    )
    assert engine.advance(run.pk) == [], "every worker is busy: the task may be waiting its turn"

    ClusterHeartbeat.objects.create(worker="h:2:b", host="h", pid=2, cluster="h:0")  # an idle worker
    steps = engine.advance(run.pk)
    assert len(steps) == 1 and steps[0] == "enqueued batch 2 again (not claimed for 1 s)"
    assert held_tasks == [run.batches.get(index=2).pk]
    assert engine.advance(run.pk) == [], "enqueued once, not on every advance"
    # The first delivery claims it; a late duplicate of the lost task is refused.
    engine.execute_batch(held_tasks[0])
    engine.execute_batch(held_tasks[0])
    assert run.batches.get(index=2).attempts == 1
