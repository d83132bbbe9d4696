"""The driver: one idempotent function that looks at a run's rows and does the next right thing.

``advance(run_pk)`` is called by every batch task when it ends and, for every unfinished run, by the
sweep, so a run left in any state by a crash (of a worker, a host, the whole app) or by odd agent output
is moved on at the next call. Each step is a conditional UPDATE (a model transition) or a claim, so two
processes advancing the same run at once cannot both do a step; the step's conditions are the rows as
the driver read them, and times are compared with the database's clock.

The states a run can be stuck in, and what ``advance`` does about each (tests/test_driver.py builds each
one in the database and checks where it ends):

1. pending, its first stage never started (the process that created it died): start stage 1.
2. running, a batch of its current stage still waiting (its stage started, its enqueueing was lost):
   enqueue it.
3. running, a batch running past its time (its worker hung or died): the attempt is superseded and
   the batch enqueued again, or failed once its attempts are spent.
4. running, a batch written but never verified (its worker died between the two): verified here when
   its file is on this host, else treated as 3.
5. running, every batch of the current stage verified but the next stage not started: start it.
6. running, every batch of the last stage verified, no aggregation begun: aggregate, under the lease.
7. aggregating with the lease expired or never taken (the aggregator died): take the lease, aggregate.
8. running, every batch ended and some failed or cancelled (and nothing failed the run): fail it,
   naming the failed batches.
9. cancelled, with batches still waiting, pending or held by an attempt past its time: cancel them
   (batch mode: and its open message batch at the API, until a cancel reaches it).
10. running after a retry half done: its batches pending without a task (below) or still failed with
    nothing in flight (8). A retry is one transaction, so with the ORM broker neither can happen.
11. running, a batch pending whose task was lost (a broker outside the database, Redis, cannot take
    part in the transaction that made it pending): enqueued again once it waited
    ``ERKWEB_CLAIM_TIMEOUT`` unclaimed. A duplicate delivery is refused by the claim.

12. a batch-mode run (``Run.mode`` batch): its batches have no tasks; its own step
    (runs/claude/batch_mode.py, under a lease renewed as it works) claims the pending ones, submits every
    waiting turn as one message batch, polls it, and applies its results. A step that died halfway is
    taken up by the next (runs/claude/batch_recovery.py): a batch written but not verified is verified
    from the output saved in its row; one running with no conversation (claimed, then the step died) is
    made pending again, or failed once its attempts are spent; one awaiting a request that no open
    message batch holds has its turn sent again. A result is applied only while its batch awaits it (a
    conditional UPDATE), and an error applying it fails that batch alone, by name.

Nothing here holds a transaction around an agent or a file read beyond verification's bound.
"""

import logging
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now

from . import aggregation, budget, faults, queue, verification, workers
from .claude import batch_mode, batch_recovery
from .models import (
    BATCH_IN_FLIGHT,
    RUN_ACTIVE,
    Batch,
    BatchStatus,
    ClusterHeartbeat,
    MessageBatch,
    Run,
    RunMode,
    RunStatus,
)
from .workers import worker_name

log = logging.getLogger(__name__)

MAX_STEPS = 20  # more than a run's stages and transitions can need; a guard against a loop
HELD = (BatchStatus.RUNNING, BatchStatus.WRITTEN)  # an attempt holds the batch
HEARTBEATS_KEPT = timedelta(hours=1)
RUN_FIELDS = ("run_id", "status", "mode", "current_stage", "stages", "lease_owner", "lease_expires_at")
BATCH_FIELDS = (
    "run_id",
    "index",
    "stage",
    "status",
    "attempts",
    "claims",
    "worker",
    "started_at",
    "written_at",
    "enqueued_at",
    "failure_reason",
)


def advance(run_pk: int) -> list[str]:
    """Move the run on as far as it can go now; what was done, one line per step (empty: nothing)."""
    done: list[str] = []
    for _ in range(MAX_STEPS):
        step = _step(run_pk)
        if not step:
            break
        done.append(step)
    return done


def sweep() -> int:
    """Advance every unfinished run (and cancelled ones with batches left open); how many were looked at."""
    run_pks = list(Run.objects.filter(status__in=RUN_ACTIVE).values_list("pk", flat=True))
    run_pks += list(
        Batch.objects.filter(status__in=BATCH_IN_FLIGHT, run__status=RunStatus.CANCELLED)
        .values_list("run_id", flat=True)
        .distinct()
    )
    # ...and cancelled batch-mode runs whose message batch a cancel could not reach yet.
    run_pks += list(
        MessageBatch.objects.filter(results_taken=False, run__status=RunStatus.CANCELLED)
        .values_list("run_id", flat=True)
        .distinct()
    )
    run_pks = list(dict.fromkeys(run_pks))
    # Workers long gone (a row per worker process ever spawned) are no use to anyone.
    ClusterHeartbeat.objects.filter(beat_at__lt=Now() - HEARTBEATS_KEPT).delete()
    for pk in run_pks:
        try:
            advance(pk)
        except Exception:  # one run's trouble must not keep the others stuck
            log.exception("advancing run %s failed", pk)
    return len(run_pks)


def start_stage(run: Run, stage: int) -> bool:
    """Start ``stage``: the run's transition and its batches' (and their tasks), in one transaction."""
    with transaction.atomic():
        if not run.start_stage(stage):
            return False
        for batch in run.batches.filter(stage=stage, status=BatchStatus.WAITING):
            if batch.enqueue():
                queue.send(batch)
        faults.pause_point("enqueue")
    return True


def failure_summary(failed: list[Batch]) -> str:
    names = ", ".join(str(b.index) for b in failed)
    reasons = "; ".join(f"batch {b.index}: {b.failure_reason}" for b in failed)
    noun = "batch" if len(failed) == 1 else "batches"
    summary = f"{len(failed)} {noun} failed ({names}): {reasons}"
    # A run stopped at its budget says so first: that is why it ended, and what its retry needs.
    stopped = budget.stopped_by_budget([b.failure_reason for b in failed])
    return f"{stopped}: {summary}" if stopped else summary


# --- one step ----------------------------------------------------------------------------------------
def _step(run_pk: int) -> str | None:
    # The database's clock, read with the run: every "how long ago" below is measured against it.
    run = Run.objects.filter(pk=run_pk).only(*RUN_FIELDS).annotate(db_now=Now()).first()
    if run is None:
        return None
    batches = list(Batch.objects.filter(run_id=run_pk).only(*BATCH_FIELDS))
    for batch in batches:
        batch.run = run
    if run.status == RunStatus.CANCELLED:
        if run.mode == RunMode.BATCH:
            return batch_recovery.bill_cancelled(run_pk)
        return _cancel_leftovers(run, batches)
    if run.status == RunStatus.AGGREGATING:
        return _aggregate(run)
    if run.status not in RUN_ACTIVE:
        return None
    if run.current_stage == 0:
        return "started stage 1" if start_stage(run, 1) else None

    stage = [b for b in batches if b.stage == run.current_stage]
    if run.mode == RunMode.BATCH:
        # No task per batch: the run's own step submits, polls and applies its message batches.
        moved_on = batch_mode.step(run_pk)
        if moved_on:
            return moved_on
    else:
        live = _live_holders(stage)
        moved = [line for b in stage if (line := _move_batch(run, b, live))]
        if moved:
            return "; ".join(moved)
    if any(b.status in BATCH_IN_FLIGHT for b in batches):
        return None  # attempts are under way: their tasks call advance when they end

    failed = [b for b in stage if b.status == BatchStatus.FAILED]
    if failed or any(b.status == BatchStatus.CANCELLED for b in stage):
        run.add_usage_totals()
        if run.fail(failure_summary(failed) if failed else "cancelled batches"):
            return "failed the run"
        return None
    if run.current_stage < run.stages:
        next_stage = run.current_stage + 1
        return f"started stage {next_stage}" if start_stage(run, next_stage) else None
    owner = worker_name()
    if not run.begin_aggregation(owner, settings.ERKWEB_AGGREGATION_LEASE):
        return None
    aggregation.aggregate(run, owner)
    return "aggregated"


def _move_batch(run: Run, batch: Batch, live: set[str]) -> str | None:
    """The step one batch of the current stage needs, done; None when it needs none."""
    if batch.status == BatchStatus.WAITING:
        with transaction.atomic():
            if batch.enqueue():
                queue.send(batch)
                return f"enqueued batch {batch.index}"
        return None
    if batch.status == BatchStatus.PENDING and _unclaimed(run, batch):
        waited = _seconds(run, batch.enqueued_at)
        with transaction.atomic():
            if batch.renew_enqueue(settings.ERKWEB_CLAIM_TIMEOUT):
                queue.send(batch)
                return f"enqueued batch {batch.index} again (not claimed for {waited:.0f} s)"
        return None
    if batch.status == BatchStatus.RUNNING:
        if _lost(run, batch, live):
            return _take_over(batch, f"attempt {batch.attempts}'s worker {_shown(batch.worker)} stopped")
        if _overdue(run, batch):
            return _take_over(batch, f"attempt {batch.attempts} ran past its time")
    if batch.status == BatchStatus.WRITTEN and _abandoned(run, batch, live):
        if workers.host_of(batch.worker) == socket.gethostname():
            full = Batch.objects.select_related("run").get(pk=batch.pk)
            ok = verification.verify_batch(full, batch.attempts)
            return f"verified batch {batch.index}" if ok else f"batch {batch.index} failed verification"
        return _take_over(batch, f"attempt {batch.attempts} wrote its file on another host, then stopped")
    return None


def _live_holders(batches: list[Batch]) -> set[str]:
    """The workers holding these batches that are alive (one query, only when some batch is held)."""
    return workers.live_workers({b.worker for b in batches if b.status in HELD and b.worker})


def _seconds(run: Run, since: datetime | None) -> float:
    """Seconds from ``since`` to the database's clock when the run was read (``_step`` annotates it)."""
    db_now: datetime = vars(run)["db_now"]
    return (db_now - since).total_seconds() if since else float("inf")


def _lost(run: Run, batch: Batch, live: set[str]) -> bool:
    """The attempt's worker is gone: no fresh heartbeat (a claim made just now is given the time of a
    heartbeat to show it), or, on this host, its process no longer exists."""
    if batch.worker in live:
        return False
    fresh_claim = _seconds(run, batch.started_at) <= settings.ERKWEB_WORKER_STALE
    return not fresh_claim or workers.gone_from_this_host(batch.worker)


def _abandoned(run: Run, batch: Batch, live: set[str]) -> bool:
    """Written, and its worker will not verify it: gone, or it would have long since."""
    return _lost(run, batch, live) or _seconds(run, batch.written_at) > settings.ERKWEB_WORKER_STALE


def _unclaimed(run: Run, batch: Batch) -> bool:
    """A pending batch whose task may be lost: it waited ``ERKWEB_CLAIM_TIMEOUT`` while some live worker
    was idle (so it was not merely queued behind busy workers). With Redis its task is sent after the
    transaction and may never have been; with the ORM broker it may be locked by a cluster that died
    before running it (the broker hands it out again only after django-q2's long ``retry``)."""
    if _seconds(run, batch.enqueued_at) <= settings.ERKWEB_CLAIM_TIMEOUT:
        return False
    return workers.idle_worker_exists()


def _overdue(run: Run, batch: Batch) -> bool:
    return _seconds(run, batch.started_at) > settings.ERKWEB_BATCH_OVERDUE


def _shown(worker: str) -> str:
    return ":".join(worker.split(":")[:2]) or "(none)"


def _take_over(batch: Batch, why: str) -> str | None:
    """Supersede the batch's current attempt: enqueue it again, or fail it once its attempts are spent."""
    if batch.claims >= settings.ERKWEB_BATCH_MAX_ATTEMPTS:
        spent = f"worker lost: {why}; {batch.claims} attempts spent"
        return f"failed batch {batch.index}" if batch.fail(spent, batch.attempts) else None
    with transaction.atomic():
        if not batch.requeue(batch.attempts):
            return None
        queue.send(batch)
    return f"took over batch {batch.index} ({why})"


def _aggregate(run: Run) -> str | None:
    owner = worker_name()
    if not run.take_lease(owner, settings.ERKWEB_AGGREGATION_LEASE):
        return None  # another process holds the lease, and it has not expired
    aggregation.aggregate(run, owner)
    return "aggregated (took over the lease)"


def _cancel_leftovers(run: Run, batches: list[Batch]) -> str | None:
    live = _live_holders(batches)
    cancelled = []
    for batch in batches:
        if batch.status in (BatchStatus.WAITING, BatchStatus.PENDING):
            changed = batch.cancel()
        elif batch.status in HELD and (_lost(run, batch, live) or _overdue(run, batch)):
            changed = batch.cancel(batch.attempts)
        else:
            continue  # a live attempt stops itself before its next turn
        if changed:
            cancelled.append(str(batch.index))
    return f"cancelled batches {', '.join(cancelled)}" if cancelled else None
