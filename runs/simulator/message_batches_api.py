"""The Message Batches API's endpoints (https://platform.claude.com/docs/en/api/messages/batches), in the
shapes the SDK decodes (anthropic/types/messages/): create, retrieve, list, cancel, delete, results.

What a create refuses at once, for the whole batch (the rest of each request is checked when it is
processed, and a problem becomes that request's `errored` result: "Validation of the params object for
each message request is performed asynchronously", https://platform.claude.com/docs/en/build-with-claude/
batch-processing):
- a body over 256 MB (413 request_too_large; server.py reads the body) or with more than 100,000 requests
  ("A Message Batch is limited to either 100,000 Message requests or 256 MB in size"), or none ("minItems:
  1" in the API reference);
- a custom_id outside `^[a-zA-Z0-9_-]{1,64}$`, or used twice ("Must be unique for each request within the
  Message Batch");
- keys the API does not take (`requests` at the top; `custom_id` and `params` in each request), and
  `params` that is not an object. The messages are pydantic's, as elsewhere in the simulator; the one for
  a repeated custom_id is ours.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from . import paging
from .message_batches import MessageBatch
from .validation import SimulatorError, invalid

if TYPE_CHECKING:
    from .server import SimulatorServer

MAX_REQUESTS = 100_000
# "256 MB": read as 256,000,000 bytes, the stricter of the two readings (as the 32 MB of /v1/messages).
MAX_BODY_BYTES = 256_000_000
CUSTOM_ID_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"
CUSTOM_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
RESULTS_PATH = "/v1/messages/batches/{id}/results"


def parse_create(body: Any) -> list[tuple[str, dict]]:
    """The (custom_id, params) of each request of a create body; 400 for what the API refuses at once."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    for key in body:
        if key != "requests":
            raise invalid(f"{key}: Extra inputs are not permitted")
    if "requests" not in body:
        raise invalid("requests: Field required")
    requests = body["requests"]
    if not isinstance(requests, list):
        raise invalid("requests: Input should be a valid list")
    if not requests:
        raise invalid("requests: List should have at least 1 item after validation, not 0")
    if len(requests) > MAX_REQUESTS:
        raise invalid(
            f"requests: List should have at most {MAX_REQUESTS} items after validation, not {len(requests)}"
        )
    parsed: list[tuple[str, dict]] = []
    seen: set[str] = set()
    for i, request in enumerate(requests):
        where = f"requests.{i}"
        if not isinstance(request, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        for key in request:
            if key not in ("custom_id", "params"):
                raise invalid(f"{where}.{key}: Extra inputs are not permitted")
        for key in ("custom_id", "params"):
            if key not in request:
                raise invalid(f"{where}.{key}: Field required")
        custom_id, params = request["custom_id"], request["params"]
        if not isinstance(custom_id, str):
            raise invalid(f"{where}.custom_id: Input should be a valid string")
        if not CUSTOM_ID_RE.fullmatch(custom_id):
            raise invalid(f"{where}.custom_id: String should match pattern '{CUSTOM_ID_PATTERN}'")
        if custom_id in seen:
            raise invalid(
                f"{where}.custom_id: {custom_id!r} is used by an earlier request; a custom_id must be "
                "unique within the Message Batch"
            )
        seen.add(custom_id)
        if not isinstance(params, dict):
            raise invalid(f"{where}.params: Input should be a valid dictionary")
        parsed.append((custom_id, params))
    return parsed


def render(server: SimulatorServer, batch: MessageBatch, base_url: str) -> dict:
    """The MessageBatch object (anthropic/types/messages/message_batch.py)."""
    clock = server.clock
    now = clock.now()
    with batch.lock:
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": batch.request_counts(),
            "created_at": clock.timestamp(batch.created),
            "expires_at": clock.timestamp(batch.expires),
            "ended_at": clock.timestamp(batch.ended) if ended and batch.ended is not None else None,
            "cancel_initiated_at": (
                clock.timestamp(batch.cancel_initiated) if batch.cancel_initiated is not None else None
            ),
            "archived_at": clock.timestamp(batch.archives) if batch.archived(now) else None,
            # "Specified only once processing ends."
            "results_url": base_url + RESULTS_PATH.format(id=batch.id) if ended else None,
        }


def create(server: SimulatorServer, body: Any, base_url: str) -> dict:
    requests = parse_create(body)
    batch = server.message_batches.create(requests, server.clock.now())
    return render(server, batch, base_url)


def retrieve(server: SimulatorServer, batch_id: str, base_url: str) -> dict:
    return render(server, server.message_batches.get(batch_id), base_url)


def page(server: SimulatorServer, query: str, base_url: str) -> dict:
    """https://platform.claude.com/docs/en/api/messages/batches/list: "Most recently created batches are
    returned first", in cursor pages (paging.py)."""
    batches = server.message_batches
    return paging.page(batches.newest_first(), query, lambda bid: render(server, batches.get(bid), base_url))


def cancel(server: SimulatorServer, batch_id: str, base_url: str) -> dict:
    batch = server.message_batches.get(batch_id)
    with batch.lock:
        batch.cancel(server.clock.now())
        return render(server, batch, base_url)


def delete(server: SimulatorServer, batch_id: str) -> dict:
    server.message_batches.delete(batch_id)
    return {"id": batch_id, "type": "message_batch_deleted"}


def results(server: SimulatorServer, batch_id: str) -> bytes:
    """The results as JSON Lines, one MessageBatchIndividualResponse a line.

    Before the batch has ended there is nothing to give: 400 (the SDK itself refuses to ask, "No
    `results_url` for the given batch; Has it finished processing?"; the API's answer is not documented,
    so the simulator refuses). After the 29 days, 404 ("its results will no longer be available for
    download"; the status is the simulator's choice). With the quirks on, the lines come in reverse
    request order: "Batch results can be returned in any order ... always use the custom_id field".
    """
    batch = server.message_batches.get(batch_id)
    with batch.lock:
        if batch.status != "ended":
            raise invalid(f"Message Batch {batch_id} has not ended yet: its results are not available")
        if batch.archived(server.clock.now()):
            raise SimulatorError(
                404,
                "not_found_error",
                f"the results of Message Batch {batch_id} are no longer available (29 days after creation)",
            )
        lines = batch.results()
    if server.quirks:
        lines.reverse()
    return b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
