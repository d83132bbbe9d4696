"""Message Batches, in memory: what each one holds, when its requests are processed, how it ends.

https://platform.claude.com/docs/en/build-with-claude/batch-processing is the contract:
- A batch is `in_progress` from its creation, `canceling` once a cancel is asked for, `ended` when every
  request has a result: `succeeded`, `errored`, `canceled` or `expired`. `request_counts` shows every
  request as `processing` until the whole batch has ended ("Requests start as processing and move to one
  of the other statuses only once processing of the entire batch ends", the SDK's MessageBatch).
- A batch expires 24 hours after its creation: what has not been processed by then ends `expired`.
- Results stay available for 29 days after creation; after that `archived_at` is set and they are gone.
- Canceling: requests not yet processed end `canceled`; one in flight finishes ("the system may complete
  any in-progress, non-interruptible requests before finalizing cancellation", the cancel endpoint).

How the simulator schedules a batch (its choices, all deterministic): the requests are processed one after
another in request order, spread evenly over the batch's delay (`--batch-delay-ms`, a fraction of a
second by default), so request i of n is done at `created + delay * (i + 1) / n`; a request's own wait
(the `slow` rule, any rule's `latency_ms`) holds the requests behind it, and the batch ends when its last
request is done. Each request is answered by `exchange.prepare` exactly as /v1/messages would answer it,
reading the prompt cache as it was when the batch was created (cache.py); its cache writes are readable
from the moment it is done.

Nothing runs in the background: a batch catches up with the clock (`tick`) whenever the server handles
a request (any /v1/messages call or batch call), which is all anyone can observe. The state is the
server's memory: a restarted simulator has no batches.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .cache import CachePlan
from .exchange import DropConnection, Expired, MessageBatchCall, prepare
from .validation import SimulatorError, error_body, invalid

if TYPE_CHECKING:
    from .server import SimulatorServer

log = logging.getLogger("runs.simulator")

DAY = 24 * 60 * 60
EXPIRES_AFTER = 1 * DAY  # "Batches expire if processing does not complete within 24 hours"
RESULTS_KEPT = 29 * DAY  # "Batch results are available for 29 days after creation"
DEFAULT_DELAY_MS = 250
RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")


@dataclass
class Item:
    """One request of a batch. `params` is dropped once the request has its result."""

    custom_id: str
    params: Any
    result: dict | None = None


@dataclass
class InFlight:
    item: Item
    result: dict
    plan: CachePlan | None
    done_at: float


def errored(error_type: str, message: str, request_id: str, error_code: str = "") -> dict:
    """The `errored` result: its `error` is the standard error shape (the SDK's ErrorResponse)."""
    return {"type": "errored", "error": error_body(error_type, message, request_id, error_code)}


class MessageBatch:
    def __init__(self, batch_id: str, items: list[Item], created: float, delay_ms: int) -> None:
        self.id = batch_id
        self.items = items
        self.created = created
        self.delay = max(0, delay_ms) / 1000
        self.expires = created + EXPIRES_AFTER
        self.archives = created + RESULTS_KEPT
        self.status = "in_progress"
        self.cancel_initiated: float | None = None
        self.ended: float | None = None
        self._cursor = 0  # the next request to start
        self._last_done = created
        self._in_flight: InFlight | None = None
        # Held while the batch catches up with the clock: another thread asking about this batch waits
        # and then sees every request that was due.
        self.lock = threading.RLock()

    # What the API shows ------------------------------------------------------------------------------

    def request_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("processing", *RESULT_TYPES), 0)
        if self.status != "ended":
            counts["processing"] = len(self.items)
            return counts
        for item in self.items:
            counts[item.result["type"] if item.result else "processing"] += 1
        return counts

    def archived(self, now: float) -> bool:
        return now >= self.archives

    def results(self) -> list[dict]:
        return [{"custom_id": item.custom_id, "result": item.result} for item in self.items]

    # Changes -----------------------------------------------------------------------------------------

    def cancel(self, now: float) -> None:
        if self.status == "ended":
            # https://platform.claude.com/docs/en/api/messages/batches/cancel: "Batches may be canceled
            # any time before processing ends." After that, the simulator refuses (its choice).
            raise invalid(f"Message Batch {self.id} has already ended and cannot be canceled")
        if self.status == "in_progress":
            self.status = "canceling"
            self.cancel_initiated = now

    def next_event(self) -> float | None:
        """When this batch next changes by itself (a request done or started, its expiry), if ever."""
        with self.lock:
            if self.status == "ended":
                return None
            if self._in_flight is not None:
                return min(self._in_flight.done_at, self.expires)
            if self.status == "canceling" or self._cursor == len(self.items):
                return max(self.cancel_initiated or 0.0, self._last_done)
            return min(self._start_of_next(), self.expires)

    def tick(self, server: SimulatorServer, now: float) -> None:
        """Process whatever was due by `now`, and end the batch if its time has come."""
        with self.lock:
            while self.status != "ended":
                flight = self._in_flight
                if flight is not None:
                    if flight.done_at < self.expires and flight.done_at <= now:
                        self._finish(server, flight)
                        continue
                    if now >= self.expires:
                        self._end(self.expires, rest="expired")
                    return
                if self.status == "canceling" or self._cursor == len(self.items):
                    end = max(self.cancel_initiated or 0.0, self._last_done)
                    if end <= now:
                        self._end(end, rest="canceled")
                    return
                start = self._start_of_next()
                if start >= self.expires:
                    if now >= self.expires:
                        self._end(self.expires, rest="expired")
                    return
                if start > now:
                    return
                self._start(server, start)

    def _start_of_next(self) -> float:
        n = len(self.items)
        spread = self.created + self.delay * (self._cursor + 1) / n
        return max(spread, self._last_done)

    def _start(self, server: SimulatorServer, start: float) -> None:
        item = self.items[self._cursor]
        self._cursor += 1
        result, plan, wait_ms = answer(server, self, item)
        self._in_flight = InFlight(item, result, plan, start + wait_ms / 1000)

    def _finish(self, server: SimulatorServer, flight: InFlight) -> None:
        if flight.plan is not None:
            server.cache.commit(flight.plan)
        flight.item.result = flight.result
        flight.item.params = None
        self._last_done = flight.done_at
        self._in_flight = None

    def _end(self, when: float, rest: str) -> None:
        """End the batch at `when`: every request without a result gets `rest` (canceled or expired)."""
        for item in self.items:
            if item.result is None:
                item.result = {"type": rest}
                item.params = None
        self._in_flight = None
        self.status = "ended"
        self.ended = when


def answer(server: SimulatorServer, batch: MessageBatch, item: Item) -> tuple[dict, CachePlan | None, int]:
    """One request's result, its cache plan (None when it wrote nothing) and how long it took (ms)."""
    request_id = f"req_sim{secrets.token_hex(12)}"
    try:
        reply = prepare(server, item.params, request_id, MessageBatchCall(arrived_at=batch.created))
    except Expired:
        return {"type": "expired"}, None, 0
    except SimulatorError as exc:
        return errored(exc.error_type, exc.message, request_id, exc.error_code), None, 0
    except DropConnection:
        return errored("api_error", "Internal server error (simulated: drop-connection)", request_id), None, 0
    except Exception as exc:  # a bug in the simulator ends this request errored, not the whole batch
        log.exception("simulator error on request %s of %s", item.custom_id, batch.id)
        return errored("api_error", f"simulator internal error: {exc}", request_id), None, 0
    return {"type": "succeeded", "message": reply.message}, reply.cache_plan, reply.wait_ms


class MessageBatchBook:
    """Every Message Batch of one server, by id in creation order. Thread-safe."""

    def __init__(self, delay_ms: int = DEFAULT_DELAY_MS) -> None:
        self.delay_ms = int(delay_ms)
        self._lock = threading.Lock()
        self._batches: dict[str, MessageBatch] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._batches)

    def create(self, requests: list[tuple[str, Any]], now: float) -> MessageBatch:
        batch_id = f"msgbatch_sim{secrets.token_hex(12)}"
        items = [Item(custom_id, params) for custom_id, params in requests]
        batch = MessageBatch(batch_id, items, now, self.delay_ms)
        with self._lock:
            self._batches[batch_id] = batch
        return batch

    def get(self, batch_id: str) -> MessageBatch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise SimulatorError(404, "not_found_error", f"message_batch_id: {batch_id}")
        return batch

    def newest_first(self) -> list[str]:
        with self._lock:
            return list(reversed(self._batches))

    def delete(self, batch_id: str) -> None:
        batch = self.get(batch_id)
        with batch.lock:
            if batch.status != "ended":
                # https://platform.claude.com/docs/en/api/messages/batches/delete: "Message Batches can
                # only be deleted once they've finished processing. If you'd like to delete an
                # in-progress batch, you must first cancel it." The message is ours.
                raise invalid(
                    f"Message Batch {batch_id} is still {batch.status}: a batch can be deleted only once "
                    "it has ended (cancel it first)"
                )
            with self._lock:
                self._batches.pop(batch_id, None)

    def _active(self) -> list[MessageBatch]:
        with self._lock:
            return [batch for batch in self._batches.values() if batch.status != "ended"]

    def tick(self, server: SimulatorServer) -> None:
        for batch in self._active():
            batch.tick(server, server.clock.now())

    def advance(self, server: SimulatorServer, seconds: float) -> None:
        """Move the server's clock forward by `seconds`, stopping at every moment a batch changes on
        the way, so that each request is processed at its own time (its cache writes live from then)."""
        target = server.clock.now() + seconds
        while True:
            events = [when for batch in self._active() if (when := batch.next_event()) is not None]
            due = [when for when in events if when <= target]
            if not due:
                break
            server.clock.set(min(due))
            self.tick(server)
        server.clock.set(target)
        self.tick(server)
