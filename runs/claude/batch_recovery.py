"""Batch mode's recovery: what a cancelled run left open (``cancel_leftovers``, then the sweep's
``bill_cancelled``), and what a step that died or raised partway left of a stage (``recover``), taken
up by the next step (runs/claude/batch_mode.py), which holds the run's message-batch lease, so no other
step is still at it. In live mode the driver's ``_move_batch`` does this from workers' heartbeats; a
batch-mode attempt has no worker of its own, so these are told from the batch's row alone
(runs/driver.py, state 12):

- written, never verified (the step died between ``mark_written`` and verification): verified here,
  from the output the agent's last turn saved in the row (the step that wrote it may be on another host);
- running with no conversation (the step died between ``claim`` and ``save_conversation``): the attempt is
  superseded and the batch made pending again for the next claim, or failed once its attempts are spent;
- running, awaiting a message batch request that no open message batch holds (its result was taken and
  never applied to it): see ``_Round._orphans`` in batch_mode, which resubmits it.
"""

import base64
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings

from .. import verification
from ..models import Batch, BatchStatus, MessageBatch, Run
from ..scratch import materialise, output_file
from .endpoint import endpoint_for_run, make_client
from .pricing import call_cost, usage_dict
from .retries import classify

# The API's processing_status once a cancel was taken (https://platform.claude.com/docs/en/build-with-claude/
# batch-processing: "canceling", then "ended"): no second cancel is sent.
CANCEL_TAKEN = ("canceling", "ended")
LateUsage = tuple[dict[str, Any], Decimal]  # a batch's usage and its cost

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
    the sweep's next try; one the API took, or refused (it ended already), leaves it open too, for the
    sweep to bill what it completed once it has ended (``bill_cancelled``); one the API does not know
    (404) has nothing to cancel or bill."""
    run = Run.objects.get(pk=run_pk)
    done = []
    for batch in run.batches.filter(
        status__in=(BatchStatus.WAITING, BatchStatus.PENDING, BatchStatus.RUNNING)
    ):
        if batch.cancel(batch.attempts if batch.status == BatchStatus.RUNNING else None):
            done.append(f"cancelled batch {batch.index}")
    # One whose cancel the API took already (canceling, or ended) is only waited for.
    open_batches = list(
        run.message_batches.filter(results_taken=False).exclude(processing_status__in=CANCEL_TAKEN)
    )
    if not open_batches:
        return "; ".join(done) or None
    client = client_for(run, timeout)
    for open_batch in open_batches:
        try:
            got = client.messages.batches.cancel(open_batch.api_id)
        except Exception as exc:
            failure = classify(exc)
            if failure is not None and failure.retryable:
                log.warning("cancel of %s: %s; the sweep tries again", open_batch.api_id, failure.describe())
            elif failure is not None and failure.status == 404:
                _forget(open_batch, "cancel")
            else:
                log.info("cancel of %s: %s", open_batch.api_id, exc)
            continue
        open_batch.saw(got.processing_status, got.request_counts.model_dump())
        done.append(f"cancelled message batch {open_batch.api_id}")
    return "; ".join(done) or None


def bill_cancelled(run_pk: int) -> str | None:
    """The sweep's visit to a cancelled batch-mode run: cancel what is left (``cancel_leftovers``), then
    retrieve each open message batch; once one has ended, read its results once and bill the usage of
    every request the API completed before the cancel to its batch (priced as ``_take_turn`` prices a
    turn, at the run's recorded prices and the batch rate from ``usage.service_tier``). No tool runs,
    no turn is applied: the batches stay cancelled. An API that cannot be reached, or a results call
    that fails, leaves it for the next sweep."""
    cancelled = cancel_leftovers(run_pk)
    done = [cancelled] if cancelled else []
    run = Run.objects.get(pk=run_pk)
    open_batches = list(run.message_batches.filter(results_taken=False))
    if not open_batches:
        return "; ".join(done) or None
    client = client_for(run)
    for open_batch in open_batches:
        try:
            got = client.messages.batches.retrieve(open_batch.api_id)
            open_batch.saw(got.processing_status, got.request_counts.model_dump())
            if got.processing_status != "ended":
                continue  # still canceling (a request in flight finishes first): the next sweep asks again
            results = list(client.messages.batches.results(open_batch.api_id))
        except Exception as exc:
            failure = classify(exc)
            if failure is not None and failure.status == 404:
                _forget(open_batch, "retrieve")
            else:
                log.warning("message batch %s of cancelled %s: %s", open_batch.api_id, run.run_id, exc)
            continue
        if open_batch.bill_late_usage(_late_usages(run, open_batch, results)):
            done.append(f"billed what message batch {open_batch.api_id} completed before the cancel")
    return "; ".join(done) or None


def _late_usages(run: Run, open_batch: MessageBatch, results: list[Any]) -> dict[str, LateUsage]:
    """Usage and cost by ``custom_id`` of the succeeded results, the only ones that carry usage."""
    prices = dict(run.manifest["stage_models"][str(open_batch.stage)]["prices"])
    billed: dict[str, LateUsage] = {}
    for line in results:
        if line.result.type == "succeeded":
            usage = usage_dict(line.result.message.usage)
            billed[line.custom_id] = (usage, call_cost(prices, usage))
    return billed


def _forget(open_batch: MessageBatch, call: str) -> None:
    """The API does not know this message batch (404): nothing to cancel, nothing it can be billed for."""
    log.warning("%s of %s: the API does not know it (404); nothing billed", call, open_batch.api_id)
    open_batch.bill_late_usage({})
