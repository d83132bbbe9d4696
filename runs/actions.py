"""What a user does to a run once it exists: cancel it, retry its failed batches."""

import logging
from decimal import Decimal

from django.db import transaction

from . import budget, driver, queue
from .claude import batch_recovery
from .errors import InputError
from .models import BatchStatus, Run, RunMode, RunStatus

log = logging.getLogger(__name__)

# A request (gunicorn stops it at 30 s) cancels a batch-mode run's open message batch at most this long
# per call; what it could not cancel, the sweep's next step does (runs/driver.py, cancelled runs).
CANCEL_TIMEOUT_S = 5.0


def cancel_run(run: Run) -> bool:
    """Pending batches never start; running ones stop before their next turn. A batch-mode run's open
    message batch is cancelled at the API at once (its agents have no next turn to stop at), within a
    short timeout: the cancel has committed whatever the API says, so its errors are logged, not raised."""
    with transaction.atomic():
        if not run.cancel():
            return False
        for batch in run.batches.filter(status__in=(BatchStatus.WAITING, BatchStatus.PENDING)):
            batch.cancel()
    if run.mode == RunMode.BATCH:
        try:
            batch_recovery.cancel_leftovers(run.pk, timeout=CANCEL_TIMEOUT_S)
        except Exception:
            log.exception("cancelling the message batches of %s failed; the sweep tries again", run.run_id)
    return True


def retry_failed(run: Run, max_cost: Decimal | None = None) -> list[int]:
    """Re-enqueue only the failed batches of a failed run, reopening it (with a new budget when one is
    given), in one transaction; returns their indexes. A run stopped at its budget needs a larger one.
    A batch-mode run's batches are taken by its message-batch step, from the sweep (within
    ERKWEB_SWEEP_SECONDS), never in the caller: a step makes API calls a web request cannot wait for."""
    if run.status != RunStatus.FAILED or not run.batches.filter(status=BatchStatus.FAILED).exists():
        raise InputError(f"run {run.run_id} has no failed batches to retry")
    budget.check_retry(run, max_cost)
    retried = []
    with transaction.atomic():
        if not run.reopen_for_retry(max_cost):
            raise InputError(f"run {run.run_id} changed status; try again")
        for batch in run.batches.filter(status=BatchStatus.FAILED).order_by("index"):
            if batch.enqueue():
                queue.send(batch)
                retried.append(batch.index)
    if run.mode != RunMode.BATCH:
        driver.advance(run.pk)
    return retried
