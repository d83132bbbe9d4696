"""Batch mode's recovery: what a cancelled run left open (``cancel_leftovers``), and what a step that
died or raised partway left of a stage (``recover``), taken up by the next step (runs/claude/batch_mode.py),
which holds the run's message-batch lease, so no other step is still at it. In live mode the driver's
``_move_batch`` does this from workers' heartbeats; a batch-mode attempt has no worker of its own, so
these are told from the batch's row alone (runs/driver.py, state 12):

- written, never verified (the step died between ``mark_written`` and verification): verified here,
  from the output the agent's last turn saved in the row (the step that wrote it may be on another host);
- running with no conversation (the step died between ``claim`` and ``save_conversation``): the attempt is
  superseded and the batch made pending again for the next claim, or failed once its attempts are spent;
- running, awaiting a message batch request that no open message batch holds (its result was taken and
  never applied to it): see ``_Round._orphans`` in batch_mode, which resubmits it.
"""

import base64
import logging
from typing import Any

from django.conf import settings

from .. import verification
from ..models import Batch, BatchStatus, Run
from ..scratch import materialise, output_file
from .endpoint import endpoint_for_run, make_client
from .retries import classify

log = logging.getLogger(__name__)


def client_for(run: Run, timeout: float = 60.0) -> Any:
    """The SDK client of the run's endpoint (the one its manifest recorded)."""
    endpoint = endpoint_for_run(run.manifest.get("api_base_url"), bool(run.manifest.get("simulator")))
    return make_client(endpoint, timeout=timeout)


def recover(stage: list[Batch], worker: str) -> list[str]:
    """Take up this stage's batches a dead step left; what was done, one line each."""
    done: list[str | None] = []
    for batch in stage:
        if batch.status == BatchStatus.WRITTEN:
            done.append(verify_left(batch))
        elif batch.status == BatchStatus.RUNNING and batch.worker == worker and not batch.conversation:
            done.append(restart(batch))
    return [line for line in done if line]


def verify_left(batch: Batch) -> str:
    attempt = batch.attempts
    try:
        saved = (batch.conversation or {}).get("output")
        if saved is not None:
            materialise(batch.run, batch)
            output_file(batch).write_bytes(base64.b64decode(saved))
        ok = verification.verify_batch(batch, attempt)
    except Exception as exc:  # the same trouble every time must not keep it written for ever
        log.exception("verifying batch %s of %s failed", batch.index, batch.run.run_id)
        batch.fail(f"verification failed: {type(exc).__name__}: {exc}", attempt)
        return f"batch {batch.index} failed verification"
    return f"verified batch {batch.index}" if ok else f"batch {batch.index} failed verification"


def restart(batch: Batch) -> str | None:
    why = f"attempt {batch.attempts} stopped before its conversation started"
    if batch.claims >= settings.ERKWEB_BATCH_MAX_ATTEMPTS:
        reason = f"{why}; {batch.claims} attempts spent"
        return f"failed batch {batch.index}" if batch.fail(reason, batch.attempts) else None
    return f"took over batch {batch.index} ({why})" if batch.requeue(batch.attempts) else None


def cancel_leftovers(run_pk: int, timeout: float = 60.0) -> str | None:
    """A cancelled batch-mode run: cancel its unfinished batches, then its open message batch at the API.
    A cancel that did not reach the API (a timeout, no connection) leaves the message batch open for
    the sweep's next try; one the API refused (it already ended, or is gone) has nothing left to cancel."""
    run = Run.objects.get(pk=run_pk)
    done = []
    for batch in run.batches.filter(
        status__in=(BatchStatus.WAITING, BatchStatus.PENDING, BatchStatus.RUNNING)
    ):
        if batch.cancel(batch.attempts if batch.status == BatchStatus.RUNNING else None):
            done.append(f"cancelled batch {batch.index}")
    open_batches = list(run.message_batches.filter(results_taken=False))
    if not open_batches:
        return "; ".join(done) or None
    client = client_for(run, timeout)
    for open_batch in open_batches:
        try:
            client.messages.batches.cancel(open_batch.api_id)
        except Exception as exc:
            failure = classify(exc)
            if failure is not None and failure.retryable:
                log.warning("cancel of %s: %s; the sweep tries again", open_batch.api_id, failure.describe())
                continue
            log.info("cancel of %s: %s", open_batch.api_id, exc)
        if open_batch.take_results():
            done.append(f"cancelled message batch {open_batch.api_id}")
    return "; ".join(done) or None
