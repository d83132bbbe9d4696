"""What a user does to a run once it exists: cancel it, retry its failed batches."""

from decimal import Decimal

from django.db import transaction

from . import budget, driver, queue
from .errors import InputError
from .models import BatchStatus, Run, RunMode, RunStatus


def cancel_run(run: Run) -> bool:
    """Pending batches never start; running ones stop before their next turn. A batch-mode run's open
    message batch is cancelled at the API at once (its agents have no next turn to stop at)."""
    with transaction.atomic():
        if not run.cancel():
            return False
        for batch in run.batches.filter(status__in=(BatchStatus.WAITING, BatchStatus.PENDING)):
            batch.cancel()
    if run.mode == RunMode.BATCH:
        driver.advance(run.pk)
    return True


def retry_failed(run: Run, max_cost: Decimal | None = None) -> list[int]:
    """Re-enqueue only the failed batches of a failed run, reopening it (with a new budget when one is
    given), in one transaction; returns their indexes. A run stopped at its budget needs a larger one."""
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
    driver.advance(run.pk)
    return retried
