"""Batch mode: every turn of every agent of a stage goes out as one request of a Message Batch, at half
price (https://platform.claude.com/docs/en/build-with-claude/batch-processing).

A run-level step, called by the driver (runs/driver.py) whenever it advances a batch-mode run: from the
sweep, every few seconds, in a thread of the clusters' workers, so no worker is held while the API
works. One process at a time takes a run's step (a ``Lease`` named after the run). What it does:

1. The run's open message batch, if any: retrieve it; while it is not ``ended``, nothing else (its
   ``request_counts`` are saved for the run page). Once ended, read its results (JSON Lines, matched by
   ``custom_id``, in no promised order) and apply each to its batch: a succeeded one is the agent's
   turn (recorded with its usage, priced at the batch rate from ``usage.service_tier``), whose tools run
   here and whose conversation is saved in the batch's row for the next turn; a final answer is
   verified as in live mode. An errored result is resubmitted when its error type is one the live loop
   retries (overloaded, api_error, rate limit, timeout; not a spend limit) and fails its batch otherwise
   (an invalid request stays invalid); an expired one is resubmitted; each turn at most
   ``ERKWEB_API_MAX_RETRIES`` times.
2. Claim the stage's pending batches (a new attempt each, fenced as in live mode) and start their
   conversations, with 1-hour cache breakpoints (a turn's message batch can take longer than 5 minutes).
3. Submit the next turn of every agent that waits for one, as one message batch, once each has passed
   its budget check (runs/budget.py, against the turn's worst case at the batch rate).

Every write is fenced by the batch's attempt; a result is applied only by the batch whose saved state
awaits its ``custom_id``, so a step that died halfway applies the rest the next time and nothing twice.
"""

import base64
import logging
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from .. import budget, verification
from ..models import Batch, BatchStatus, Lease, MessageBatch, Run, RunStatus
from ..operations import get_operation
from ..scratch import materialise, output_file
from ..workers import worker_name
from .agent import run_tools
from .batch_recovery import client_for, recover
from .conversation import AgentFailed, Conversation
from .pricing import call_cost, usage_dict, worst_case_cost
from .retries import classify, spend_limit_error

log = logging.getLogger(__name__)

WORKER = "message-batches"  # what a batch-mode attempt names as its worker
LEASE_SECONDS = 120.0
CACHE_TTL = "1h"
RESUBMITTED_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class LeaseLost(Exception):
    """The step's lease expired and another step took it: this one stops before its next write."""


def step(run_pk: int) -> str | None:
    """Move a batch-mode run's current stage on by one round; what was done, or None."""
    # One token per call: two threads of one process are two holders, each renewing and releasing its own.
    owner = f"{worker_name()}:{secrets.token_hex(4)}"
    name = f"message-batches-{run_pk}"
    if not Lease.take(name, owner, LEASE_SECONDS):
        return None  # another step advances this run's message batches
    try:
        run = Run.objects.get(pk=run_pk)
        if run.status != RunStatus.RUNNING:
            return None
        return _Round(run, lease=(name, owner)).go()
    except LeaseLost:
        log.warning("run %s: the message-batch lease was lost mid-step; the next step goes on", run_pk)
        return None
    finally:
        Lease.release(name, owner)


class _Round:
    def __init__(self, run: Run, lease: tuple[str, str] | None = None):
        self.run = run
        self.op = get_operation(run.operation)
        self.client = client_for(run)
        self.lease = lease
        self.done: list[str] = []

    def hold(self) -> None:
        """Renew the step's lease before the next piece of work (a result's tools and verification can
        take a while), so that it cannot expire under this step and let a second one in."""
        if self.lease is not None and not Lease.renew(*self.lease, LEASE_SECONDS):
            raise LeaseLost(self.lease[0])

    def go(self) -> str | None:
        stage = Batch.objects.filter(run=self.run, stage=self.run.current_stage).select_related("run")
        self.done += recover(
            list(stage.filter(status__in=(BatchStatus.WRITTEN, BatchStatus.RUNNING))), WORKER
        )
        for open_batch in self.run.message_batches.filter(results_taken=False):
            try:
                got = self.client.messages.batches.retrieve(open_batch.api_id)
            except Exception as exc:
                failure = classify(exc)
                if failure is None or failure.retryable:
                    raise  # the sweep logs it and the next step asks again
                if failure.status != 404:
                    raise
                self._lost(open_batch)  # the API no longer knows it: its requests go out again
                continue
            open_batch.saw(got.processing_status, got.request_counts.model_dump())
            if got.processing_status != "ended":
                return "; ".join(self.done) or None  # one message batch at a time: wait for it
            self._apply(open_batch)
        self._orphans(list(stage.filter(status=BatchStatus.RUNNING, worker=WORKER)))
        for batch in stage.filter(status=BatchStatus.PENDING):
            self.hold()
            self._start(batch)
        self._submit(list(stage.filter(status=BatchStatus.RUNNING, worker=WORKER)))
        return "; ".join(self.done) or None

    # --- starting an agent ----------------------------------------------------------------------------
    def _start(self, batch: Batch) -> None:
        attempt = batch.claim(WORKER)
        if attempt is None:
            return
        try:
            self._begin(batch, attempt)
        except Exception as exc:  # its files could not be made (an OSError...): this batch fails, by name
            log.exception("starting batch %s of %s failed", batch.index, self.run.run_id)
            batch.fail(f"could not start: {type(exc).__name__}: {exc}", attempt)

    def _begin(self, batch: Batch, attempt: int) -> None:
        output = output_file(batch)
        output.unlink(missing_ok=True)  # a new attempt starts from scratch
        materialise(self.run, batch)
        if batch.model_id == "local":
            output.write_text(self.op.local_output(self.run, batch), encoding="utf-8")
            if batch.mark_written(attempt, final_message=self.op.expected_final(batch), warnings=[]):
                verification.verify_batch(batch, attempt)
            self.done.append(f"batch {batch.index} run locally")
            return
        prices = self._prices(batch)
        max_tokens = settings.ERKWEB_AGENT_MAX_OUTPUT_TOKENS
        if prices.get("max_output"):
            max_tokens = min(max_tokens, int(prices["max_output"]))
        toolbox = self.op.toolbox(self.run, batch, output)
        conversation = Conversation.start(
            model=batch.model_id,
            max_tokens=max_tokens,
            max_turns=settings.ERKWEB_AGENT_MAX_TURNS,
            system=self.op.system_prompt(self.run, batch),
            user_message=self.op.batch_message(self.run, batch),
            tools=toolbox.schemas,
            expected_final=self.op.expected_final(batch),
            cache_ttl=CACHE_TTL,
        )
        pending = [
            {"role": "system", "text": conversation.system[0]["text"]},
            {"role": "user", "content": conversation.messages[0]["content"]},
        ]
        state = {"conversation": conversation.as_dict(), "pending": pending, "awaiting": None, "resubmits": 0}
        batch.save_conversation(attempt, state)

    def _prices(self, batch: Batch) -> dict[str, Any]:
        # The price table the manifest recorded when the run was created, as in live mode.
        return dict(self.run.manifest["stage_models"][str(batch.stage)]["prices"])

    # --- submitting the next turns --------------------------------------------------------------------
    def _submit(self, running: list[Batch]) -> None:
        requests, waiting, reserved = [], [], Decimal(0)
        for batch in running:
            state = batch.conversation
            if not state or state.get("awaiting"):
                continue
            conversation = Conversation.from_dict(state["conversation"])
            worst = worst_case_cost(
                self._prices(batch), conversation.prompt_estimate(), conversation.max_tokens, batch=True
            )
            try:
                status = budget.check_turn(self.run.pk, batch.pk, batch.attempts, worst)
            except budget.BudgetReached as exc:
                self._flush(batch, state)
                batch.fail(str(exc), batch.attempts)
                self.done.append(f"batch {batch.index} stopped: {budget.BUDGET_REACHED}")
                continue
            if status != RunStatus.RUNNING:
                continue  # superseded (None), or the run was cancelled: no turn goes out
            custom_id = f"b{batch.index}-a{batch.attempts}-t{conversation.turns + 1}-r{state['resubmits']}"
            requests.append({"custom_id": custom_id, "params": conversation.request()})
            state = {**state, "conversation": conversation.as_dict(), "awaiting": custom_id}
            waiting.append((batch, state, custom_id))
            reserved += worst
        if not requests:
            return
        whose = {cid: [batch.index, batch.attempts] for batch, _, cid in waiting}
        intent = MessageBatch.intend(self.run, self.run.current_stage, whose, reserved)
        try:
            created = self.client.messages.batches.create(requests=requests)
        except Exception as exc:
            failure = classify(exc)
            if failure is not None and failure.status is not None:
                intent.never_sent()  # the API answered: it created nothing (a timeout: it may have)
            if failure is None:
                raise
            if failure.retryable:
                what = "not created" if failure.status is not None else "possibly created, unrecorded"
                self.done.append(f"message batch {what} ({failure.describe()}): the next step tries again")
                return
            # Refused whole (a 400, a 413...): sending it again would be refused again.
            for batch, state, _ in waiting:
                self._flush(batch, state)
                batch.fail(f"the message batch was refused: {failure.describe()}", batch.attempts)
            self.done.append(f"message batch refused: {failure.describe()}")
            return
        with transaction.atomic():
            intent.recorded(created.id, created.processing_status, created.request_counts.model_dump())
            for batch, state, _ in waiting:
                batch.save_conversation(batch.attempts, state)
        self.done.append(f"submitted message batch {created.id} ({len(requests)} requests)")

    def _flush(self, batch: Batch, state: dict[str, Any]) -> None:
        if state.get("pending"):
            batch.record_turn(
                batch.attempts,
                usage={},
                cost=Decimal(0),
                entries=state["pending"],
                conversation={**state, "pending": []},
            )

    # --- applying results -----------------------------------------------------------------------------
    def _apply(self, open_batch: MessageBatch) -> None:
        results = {r.custom_id: r.result for r in self.client.messages.batches.results(open_batch.api_id)}
        for custom_id, (index, attempt) in open_batch.requests.items():
            self.hold()
            batch = Batch.objects.select_related("run").get(run=self.run, index=index)
            state = batch.conversation
            if (
                batch.attempts != attempt
                or batch.status != BatchStatus.RUNNING
                or state.get("awaiting") != custom_id
            ):
                continue  # applied already, or the attempt was superseded
            try:
                self._apply_one(batch, state, results.get(custom_id), open_batch.api_id)
            except LeaseLost:
                raise
            except Exception as exc:  # raised again by every step, it would keep the rest unapplied
                log.exception("applying %s to batch %s of %s failed", custom_id, index, self.run.run_id)
                self._give_up(batch, state, f"applying its result failed: {type(exc).__name__}: {exc}")
        open_batch.take_results()
        self.done.append(f"applied message batch {open_batch.api_id}")

    def _apply_one(self, batch: Batch, state: dict[str, Any], result: Any, api_id: str) -> None:
        kind = result.type if result is not None else "missing from the results"
        if result is not None and kind == "succeeded":
            self._take_turn(batch, state, result.message, api_id)
        elif result is not None and kind == "errored":
            error = result.error.error
            again = error.type in RESUBMITTED_ERRORS and not spend_limit_error(error)
            self._resubmit_or_fail(batch, state, f"{error.type}: {error.message}", again)
        else:  # expired, or canceled without the run being cancelled (by someone else)
            self._resubmit_or_fail(batch, state, f"the request ended {kind}", True)

    def _orphans(self, running: list[Batch]) -> None:
        """Batches awaiting a request no open message batch holds (every open one was applied above, or
        this step returned): a step left them so; their turn goes out again (runs/claude/batch_recovery)."""
        open_ids = {cid for mb in self.run.message_batches.filter(results_taken=False) for cid in mb.requests}
        for batch in running:
            awaited = (batch.conversation or {}).get("awaiting")
            if awaited and awaited not in open_ids:
                self._resubmit_or_fail(batch, batch.conversation, "no open message batch holds it", True)

    def _lost(self, open_batch: MessageBatch) -> None:
        for custom_id, (index, attempt) in open_batch.requests.items():
            batch = Batch.objects.select_related("run").get(run=self.run, index=index)
            state = batch.conversation
            if (
                batch.attempts == attempt
                and batch.status == BatchStatus.RUNNING
                and state.get("awaiting") == custom_id
            ):
                self._resubmit_or_fail(batch, state, f"message batch {open_batch.api_id} is gone (404)", True)
        open_batch.take_results()
        self.done.append(f"message batch {open_batch.api_id} is gone: its requests go out again")

    def _resubmit_or_fail(self, batch: Batch, state: dict[str, Any], what: str, again: bool) -> None:
        resubmits = int(state.get("resubmits") or 0)
        if again and resubmits < settings.ERKWEB_API_MAX_RETRIES:
            entry = {
                "role": "error",
                "text": f"message batch request {state['awaiting']}: {what}; resubmitted",
            }
            new_state = {**state, "awaiting": None, "resubmits": resubmits + 1}
            batch.record_turn(
                batch.attempts,
                usage={},
                cost=Decimal(0),
                entries=[entry],
                conversation=new_state,
                awaiting=state["awaiting"],
            )
            return
        self._give_up(batch, state, what + (f" ({resubmits} resubmissions spent)" if again else ""))

    def _give_up(self, batch: Batch, state: dict[str, Any], what: str) -> None:
        """Fail the batch over its awaited request, once (whoever records it first; a second, nothing)."""
        reason = f"message batch request {state['awaiting']}: {what}"
        entries = [*state.get("pending", []), {"role": "error", "text": reason}]
        done = {**state, "awaiting": None, "pending": []}
        if batch.record_turn(
            batch.attempts,
            usage={},
            cost=Decimal(0),
            entries=entries,
            conversation=done,
            awaiting=state["awaiting"],
        ):
            batch.fail(reason, batch.attempts)

    def _take_turn(self, batch: Batch, state: dict[str, Any], message: Any, api_id: str) -> None:
        attempt = batch.attempts
        response = message.model_dump(mode="json", exclude_none=True)
        usage = usage_dict(message.usage)
        cost = call_cost(self._prices(batch), usage)
        conversation = Conversation.from_dict(state["conversation"])
        assistant = {
            "role": "assistant",
            "content": response.get("content"),
            "stop_reason": response.get("stop_reason"),
            "usage": usage,
            "message_batch": api_id,
        }
        entries = [*state.get("pending", []), assistant]
        try:
            step = conversation.take(response)
        except AgentFailed as exc:
            failed = {**state, "pending": [], "awaiting": None}
            awaited = state["awaiting"]
            if batch.record_turn(
                attempt, usage=usage, cost=cost, entries=entries, conversation=failed, awaiting=awaited
            ):
                batch.fail(str(exc), attempt)
            return
        output = self._restore(batch, state)
        pending: list[dict[str, Any]] = []
        if step.kind == "tools":
            turn = run_tools(self.op.toolbox(self.run, batch, output), conversation, step)
            pending = [{"role": "user", "content": turn["content"]}]
        new_state = {
            "conversation": conversation.as_dict(),
            "pending": pending,
            "awaiting": None,
            "resubmits": 0,
            "output": _read_output(output),
        }
        awaited = state["awaiting"]
        if not batch.record_turn(
            attempt, usage=usage, cost=cost, entries=entries, conversation=new_state, awaiting=awaited
        ):
            return  # superseded, or applied by another step already: it changes nothing
        if step.kind == "final":
            written = batch.mark_written(
                attempt, final_message=step.final_message, warnings=conversation.warnings
            )
            if written:
                verification.verify_batch(batch, attempt)
                self.done.append(f"batch {batch.index} written")

    def _restore(self, batch: Batch, state: dict[str, Any]) -> Any:
        """This host's copy of what the agent reads and of what it wrote so far (another host may have
        run its earlier tools): from the database."""
        materialise(self.run, batch)
        output = output_file(batch)
        saved = state.get("output")
        if saved is not None:
            output.write_bytes(base64.b64decode(saved))
        return output


def _read_output(output: Any) -> str | None:
    """What the agent wrote, as it is (verification judges it later), bounded; base64 for the JSON row."""
    try:
        if not output.is_file() or output.is_symlink():
            return None
        with output.open("rb") as handle:
            data = handle.read(settings.ERKWEB_OUTPUT_MAX_BYTES + 1)
    except OSError:
        return None
    return base64.b64encode(data).decode("ascii")
