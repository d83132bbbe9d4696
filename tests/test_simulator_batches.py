"""The simulator's Message Batches API, through the real SDK (`client.messages.batches`) over HTTP.

The contract is https://platform.claude.com/docs/en/build-with-claude/batch-processing (BATCHES below) and
the API reference pages https://platform.claude.com/docs/en/api/messages/batches/{create,retrieve,list,
cancel,delete,results}. The tests move the simulator's clock (`advance_clock`) instead of waiting, so a
batch's schedule is exact: with a delay D and n requests, request i is processed at created + D*(i+1)/n.
"""

from __future__ import annotations

import http.client
import json
import threading
from datetime import timedelta

import anthropic
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runs.management.commands.simulator import Command
from runs.operations.audit_scan import prompts
from runs.operations.audit_scan.batchfile import format_batch
from runs.operations.audit_scan.signals import measure
from runs.operations.base import final_message
from runs.simulator.server import start_simulator
from tests.simulator_fixtures import (
    DOCS,
    MODEL,
    TOOLS,
    Tools,
    batch_message,
    client,
    make_tree,
    sendable,
    system_blocks,
)

BATCHES = "https://platform.claude.com/docs/en/build-with-claude/batch-processing"
# Ten minutes of the simulator's clock, which the tests move: long, so that the real time a test takes
# (a few ms, or seconds on a loaded machine) never moves a request past the moment a test looks at.
DELAY_MS = 600_000
RUN_ID = "audit-scan-20261101-120000-abcd"
HELLO = [{"role": "user", "content": "Hello"}]
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
JSON_BODY = {"content-type": "application/json"}


@pytest.fixture
def sim():
    with start_simulator(batch_delay_ms=DELAY_MS) as handle:
        yield handle


@pytest.fixture
def api(sim):
    return client(sim.url)


@pytest.fixture
def tree(tmp_path):
    repo, docs = make_tree(tmp_path)
    return repo, docs, tmp_path


# --- helpers ------------------------------------------------------------------------------------------


def first_turn(tmp, index: int, paths: list[str], count: int = 3, system: list[dict] | None = None) -> dict:
    """The first request of agent `index` of an audit-scan run: its docs in the first user message."""
    output = tmp / f"batch-{index}.md"
    return {
        "model": MODEL,
        "max_tokens": 8000,
        "system": system if system is not None else system_blocks(),
        "tools": TOOLS,
        "messages": [
            {
                "role": "user",
                "content": batch_message(output, paths, run_id=RUN_ID, index=index, count=count),
            }
        ],
    }


def hello(**overrides) -> dict:
    return {"model": MODEL, "max_tokens": 100, "messages": HELLO, **overrides}


def create(api, bodies: dict[str, dict]):
    return api.messages.batches.create(
        requests=[{"custom_id": custom_id, "params": body} for custom_id, body in bodies.items()]
    )


def finish(sim, api, batch):
    """Let the batch's whole delay pass; the batch as retrieved then."""
    sim.advance_clock(DELAY_MS / 1000)
    return api.messages.batches.retrieve(batch.id)


def results(api, batch_id: str) -> dict:
    return {line.custom_id: line.result for line in api.messages.batches.results(batch_id)}


def counts(batch) -> dict:
    return batch.request_counts.model_dump()


def without_ids(content) -> list[dict]:
    """Response blocks as JSON, tool_use ids blanked (they are random, the rest is deterministic)."""
    blocks = [block.model_dump(mode="json", exclude_none=True) for block in content]
    return [{**block, "id": "-"} if block["type"] == "tool_use" else block for block in blocks]


def sync_answer(sim, api, body: dict):
    """What /v1/messages answers `body` on an empty prompt cache (as a batch request arrives to one)."""
    sim.cache.clear()
    return api.messages.create(**body)


def sync_error(api, body: dict) -> tuple[int, str, str]:
    with pytest.raises(anthropic.APIStatusError) as info:
        # Not messages.create: the SDK itself refuses a max_tokens this large without streaming.
        api.post("/v1/messages", cast_to=object, body=body)
    error = info.value.body["error"]
    return info.value.status_code, error["type"], error["message"]


def raw(sim, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=60)
    sent = {"x-api-key": "test", "anthropic-version": "2023-06-01", **(headers or {})}
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def refused_create(api, requests) -> tuple[int, str, str]:
    with pytest.raises(anthropic.APIStatusError) as info:
        api.messages.batches.create(requests=requests)
    error = info.value.body["error"]
    return info.value.status_code, error["type"], error["message"]


# --- answers ------------------------------------------------------------------------------------------


def test_first_turns_in_a_batch_are_answered_as_messages_answers_them(sim, api, tree):
    """BATCHES: a batch holds "the standard Messages API parameters" per request, and each result is that
    request's Message; "All usage is charged at 50% of the standard API prices", so the usage is counted
    as /v1/messages counts it, with `service_tier: "batch"` (https://platform.claude.com/docs/en/api/
    messages, Usage.service_tier: "standard", "priority" or "batch")."""
    _repo, _docs, tmp = tree
    paths = sorted(DOCS)
    shares = {1: [paths[0]], 2: [paths[1]], 3: [paths[2]]}
    bodies = {f"agent-{i}": first_turn(tmp, i, share) for i, share in shares.items()}

    batch = create(api, bodies)
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert counts(batch) == {"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    ended = finish(sim, api, batch)
    assert ended.processing_status == "ended"
    assert counts(ended) == {"processing": 0, "succeeded": 3, "errored": 0, "canceled": 0, "expired": 0}
    got = results(api, batch.id)
    assert set(got) == set(bodies)

    for custom_id, body in bodies.items():
        result = got[custom_id]
        assert result.type == "succeeded"
        message = result.message
        expected = sync_answer(sim, api, body)
        assert message.stop_reason == expected.stop_reason == "tool_use"
        assert without_ids(message.content) == without_ids(expected.content)
        # The agent reads exactly the docs of its share, as on /v1/messages.
        index = int(custom_id.removeprefix("agent-"))
        reads = [b.input["path"] for b in message.content if b.type == "tool_use"]
        assert reads == shares[index]
        usage, sync_usage = message.usage.model_dump(), expected.usage.model_dump()
        assert usage["service_tier"] == "batch" and sync_usage["service_tier"] == "standard"
        assert {**usage, "service_tier": "standard"} == sync_usage
        # Nothing was cached before the batch arrived: each request pays the write of the shared prefix.
        assert usage["cache_creation_input_tokens"] > 0 and usage["cache_read_input_tokens"] == 0


def test_a_batchs_requests_do_not_share_cache_writes_but_later_batches_read_them_within_the_hour(
    sim, api, tree
):
    """BATCHES ("Using prompt caching with Message Batches"): caching works in batches, "cache hits are
    provided on a best-effort basis"; "consider using the 1-hour cache duration". The simulator's
    choices: a request reads only what was cached when its batch was created (so the requests of one
    batch never read each other's writes, the strict end of best-effort), and what it writes is
    readable once it has been processed, to later batches, until its TTL runs out
    (https://platform.claude.com/docs/en/build-with-claude/prompt-caching: "1h" lasts one hour, and a
    hit refreshes it)."""
    _repo, _docs, tmp = tree
    system = [{"type": "text", "text": prompts.SYSTEM_PROMPT, "cache_control": ONE_HOUR}]
    bodies = {f"agent-{i}": first_turn(tmp, i, [sorted(DOCS)[i - 1]], system=system) for i in (1, 2)}

    first = finish(sim, api, create(api, bodies))
    one, two = (results(api, first.id)[key].message.usage for key in ("agent-1", "agent-2"))
    written = one.cache_creation.ephemeral_1h_input_tokens
    assert written > 0 and one.cache_creation.ephemeral_5m_input_tokens == 0
    assert one.cache_creation_input_tokens == written and one.cache_read_input_tokens == 0
    assert (two.cache_creation_input_tokens, two.cache_read_input_tokens) == (written, 0)

    sim.advance_clock(30 * 60)  # half an hour later, the same prefix in a new batch: read, not written
    second = finish(sim, api, create(api, bodies))
    for result in results(api, second.id).values():
        usage = result.message.usage
        assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (written, 0)

    sim.advance_clock(61 * 60)  # over an hour after the last read refreshed it: gone, written again
    third = finish(sim, api, create(api, bodies))
    for result in results(api, third.id).values():
        usage = result.message.usage
        assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, written)


def test_a_cache_write_is_readable_once_the_request_that_wrote_it_was_processed(sim, api, tree):
    """Two requests with different cached prefixes, processed at D/2 and D. Between the two, a
    /v1/messages call reads the first one's write and not the second one's (nothing written yet); the
    second batch request, which arrived before that call wrote, does not read the call's write either
    (https://platform.claude.com/docs/en/build-with-claude/prompt-caching: an entry is readable only once
    the response that wrote it has begun)."""
    _repo, _docs, tmp = tree
    path = sorted(DOCS)[0]
    systems = [
        [{"type": "text", "text": prompts.SYSTEM_PROMPT + suffix, "cache_control": ONE_HOUR}]
        for suffix in ("", "\nVariant two.")
    ]
    bodies = {f"agent-{i}": first_turn(tmp, i, [path], system=systems[i - 1]) for i in (1, 2)}
    batch = create(api, bodies)

    sim.advance_clock(DELAY_MS / 1000 * 0.75)  # the first request is done, the second is not
    assert api.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    after_first = api.messages.create(**bodies["agent-1"]).usage
    assert after_first.cache_read_input_tokens > 0 and after_first.cache_creation_input_tokens == 0
    before_second = api.messages.create(**bodies["agent-2"]).usage
    assert before_second.cache_read_input_tokens == 0 and before_second.cache_creation_input_tokens > 0

    finish(sim, api, batch)
    second = results(api, batch.id)["agent-2"].message.usage
    assert second.cache_read_input_tokens == 0
    assert second.cache_creation_input_tokens == before_second.cache_creation_input_tokens


def test_an_invalid_request_is_errored_with_the_message_messages_gives_and_the_others_succeed(sim, api):
    """BATCHES: "Validation of the params object for each message request is performed asynchronously,
    and validation errors are returned when processing of the entire batch has ended"; an `errored`
    result's `error` is "the standard error shape", and "the failure of one request in a batch does not
    affect the processing of other requests"."""
    bad = {
        "too-many-tokens": hello(max_tokens=10_000_000),
        "empty-text": hello(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "extra-key": hello(colour="blue"),
        "no-such-model": hello(model="claude-nothing-9"),
    }
    batch = create(api, {"first": hello(), **bad, "last": hello()})
    ended = finish(sim, api, batch)
    assert counts(ended) == {"processing": 0, "succeeded": 2, "errored": 4, "canceled": 0, "expired": 0}
    got = results(api, batch.id)
    assert got["first"].type == got["last"].type == "succeeded"
    for custom_id, body in bad.items():
        status, error_type, message = sync_error(api, body)
        result = got[custom_id]
        assert result.type == "errored"
        assert result.error.type == "error"
        assert (result.error.error.type, result.error.error.message) == (error_type, message)
        assert error_type == ("not_found_error" if status == 404 else "invalid_request_error")


def test_streaming_and_fast_mode_are_refused_inside_a_batch(sim, api):
    """BATCHES ("What can be batched"): "A small number of Messages API parameters are not supported in
    batch requests. Including any of these returns a validation error": `stream: true` ("Batch results
    come back as a single file, not a stream") and `speed` (fast mode). `stream: false` is no stream."""
    batch = create(
        api,
        {"streamed": hello(stream=True), "fast": hello(speed="fast"), "plain": hello(stream=False)},
    )
    got = results(api, finish(sim, api, batch).id)
    assert got["plain"].type == "succeeded"
    for custom_id, name in (("streamed", "stream"), ("fast", "speed")):
        assert got[custom_id].type == "errored"
        error = got[custom_id].error.error
        assert error.type == "invalid_request_error" and error.message.startswith(f"{name}: not supported")


# --- limits at creation -------------------------------------------------------------------------------


def test_a_batch_holds_1_to_100000_requests(sim, api):
    """BATCHES ("Batch limitations"): "A Message Batch is limited to either 100,000 Message requests or
    256 MB in size"; the create reference: "minItems: 1, maxItems: 100000". Over or under is a 400
    invalid_request_error for the whole batch, and no batch exists."""
    request = {"custom_id": "r", "params": hello()}
    status, error_type, message = refused_create(api, [])
    assert (status, error_type) == (400, "invalid_request_error") and "at least 1" in message
    many = [{**request, "custom_id": f"r{i}"} for i in range(100_001)]
    # Over raw HTTP: the SDK takes seconds to prepare a body this large, and it changes nothing here.
    status, _headers, payload = raw(
        sim, "POST", "/v1/messages/batches", json.dumps({"requests": many}).encode(), JSON_BODY
    )
    error = json.loads(payload)["error"]
    assert (status, error["type"]) == (400, "invalid_request_error")
    assert error["message"] == "requests: List should have at most 100000 items after validation, not 100001"
    assert api.messages.batches.list().data == []

    # 100,000 is accepted. The delay is long enough that none is processed before the cancel.
    sim.set_batch_delay(100_000 * 60_000)
    batch = api.messages.batches.create(requests=many[:100_000])
    assert batch.request_counts.processing == 100_000
    api.messages.batches.cancel(batch.id)
    ended = api.messages.batches.retrieve(batch.id)
    assert counts(ended) == {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 100_000, "expired": 0}


def test_custom_ids_are_1_to_64_letters_digits_hyphens_underscores_and_unique(sim, api):
    """BATCHES: a custom_id "Must be 1 to 64 characters and contain only alphanumeric characters, hyphens,
    and underscores (matching ^[a-zA-Z0-9_-]{1,64}$)"; the reference: "Must be unique for each request
    within the Message Batch"."""
    for custom_id in ("", "a" * 65, "has space", "dot.ted", "ünï"):
        status, error_type, message = refused_create(api, [{"custom_id": custom_id, "params": hello()}])
        assert (status, error_type) == (400, "invalid_request_error")
        assert message == "requests.0.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
    twice = [{"custom_id": "same", "params": hello()}, {"custom_id": "same", "params": hello()}]
    status, error_type, message = refused_create(api, twice)
    assert (status, error_type) == (400, "invalid_request_error") and "unique" in message
    assert api.messages.batches.list().data == []

    fine = create(api, {"a" * 64: hello(), "A-z_0-9": hello()})
    assert set(results(api, finish(sim, api, fine).id)) == {"a" * 64, "A-z_0-9"}


def test_a_create_body_is_only_requests_of_custom_id_and_params(api):
    """The create reference: the body is `requests`, each `{custom_id, params}`, params an object (the
    Messages API parameters); anything else is refused at once."""
    cases = [
        ({"requests": [{"custom_id": "a", "params": hello()}], "extra": 1}, "extra: Extra inputs"),
        ({"requests": [{"custom_id": "a", "params": hello(), "x": 1}]}, "requests.0.x: Extra inputs"),
        ({"requests": [{"custom_id": "a"}]}, "requests.0.params: Field required"),
        ({"requests": [{"params": hello()}]}, "requests.0.custom_id: Field required"),
        ({"requests": [{"custom_id": "a", "params": "hi"}]}, "requests.0.params: Input should be a valid"),
        ({"requests": "all of them"}, "requests: Input should be a valid list"),
        ({}, "requests: Field required"),
    ]
    for body, start in cases:
        with pytest.raises(anthropic.BadRequestError) as info:
            api.post("/v1/messages/batches", cast_to=object, body=body)
        assert info.value.body["error"]["message"].startswith(start)


def test_a_batch_body_may_pass_32_mb_but_not_256_mb(sim, api):
    """BATCHES ("Troubleshooting"): "Verify that the total batch request size doesn't exceed 256 MB. If the
    request size is too large, you may get a 413 request_too_large error." A body that /v1/messages
    would refuse for its 32 MB limit (https://platform.claude.com/docs/en/api/overview, "Request size
    limits") is a fine batch. 256 MB is read as 256,000,000 bytes, the stricter reading."""
    sim.set_batch_delay(3_600_000)
    big = hello(messages=[{"role": "user", "content": "x" * 33_000_000}])
    batch = create(api, {"big": big})
    assert batch.processing_status == "in_progress"
    api.messages.batches.cancel(batch.id)

    size = 256_000_001
    chunk = b" " * (1 << 20)

    def body():
        left = size
        while left:
            yield chunk[: min(left, len(chunk))]
            left -= min(left, len(chunk))

    status, _headers, payload = raw(
        sim,
        "POST",
        "/v1/messages/batches",
        body=body(),
        headers={"content-length": str(size), **JSON_BODY},
    )
    assert status == 413
    assert json.loads(payload)["error"]["type"] == "request_too_large"


# --- the batch object, its life, cancel, delete ------------------------------------------------------


def test_timestamps_and_results_url(sim, api):
    """The MessageBatch fields (the retrieve reference): expires_at is "24 hours after creation";
    ended_at and results_url are "Specified only once processing ends"; the SDK follows results_url
    (anthropic/resources/messages/batches.py results())."""
    batch = create(api, {"a": hello(), "b": hello()})
    assert batch.type == "message_batch" and batch.id.startswith("msgbatch_")
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert (batch.ended_at, batch.cancel_initiated_at, batch.archived_at) == (None, None, None)
    with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
        list(api.messages.batches.results(batch.id))
    status, _headers, payload = raw(sim, "GET", f"/v1/messages/batches/{batch.id}/results")
    assert status == 400 and json.loads(payload)["error"]["type"] == "invalid_request_error"

    ended = finish(sim, api, batch)
    assert ended.ended_at - ended.created_at == timedelta(milliseconds=DELAY_MS)
    assert ended.results_url == f"{sim.url}/v1/messages/batches/{batch.id}/results"


def test_results_are_jsonl_in_any_order_and_gone_after_29_days(sim, api):
    """The results reference: "Streams the results of a Message Batch as a .jsonl file", "Results are not
    guaranteed to be in the same order as requests. Use the custom_id field"; the simulator plays that
    quirk by giving them in reverse request order. BATCHES: "Batch results are available for 29 days
    after creation. After that, you may still view the Batch, but its results will no longer be
    available for download" (archived_at: "the time at which the Message Batch was archived and its
    results became unavailable")."""
    ids = ["one", "two", "three"]
    batch = finish(sim, api, create(api, {custom_id: hello() for custom_id in ids}))
    status, headers, payload = raw(sim, "GET", f"/v1/messages/batches/{batch.id}/results")
    assert status == 200 and headers["content-type"] == "application/x-jsonl"
    lines = [json.loads(line) for line in payload.decode().splitlines()]
    assert [line["custom_id"] for line in lines] == list(reversed(ids))
    assert all(line["result"]["type"] == "succeeded" for line in lines)
    assert [line.custom_id for line in api.messages.batches.results(batch.id)] == list(reversed(ids))

    sim.advance_clock(29 * 24 * 60 * 60)
    viewed = api.messages.batches.retrieve(batch.id)
    assert viewed.archived_at - viewed.created_at == timedelta(days=29)
    with pytest.raises(anthropic.NotFoundError):
        list(api.messages.batches.results(batch.id))


def test_without_quirks_results_come_in_request_order():
    with start_simulator(batch_delay_ms=10, quirks=False) as sim:
        api = client(sim.url)
        ids = ["one", "two", "three"]
        batch = create(api, {custom_id: hello() for custom_id in ids})
        sim.advance_clock(1)
        assert [line.custom_id for line in api.messages.batches.results(batch.id)] == ids


def test_cancel_ends_the_unprocessed_requests_canceled(sim, api):
    """BATCHES ("Canceling a Message Batch"): "Immediately after cancellation, a batch's processing_status
    will be canceling ... Canceled batches end up with a status of ended and may contain partial results
    for requests that were processed before cancellation"; canceled: "User canceled the batch before
    this request could be sent to the model". Of three requests (done at D/3, 2D/3, D), the first is
    done when the cancel comes at D/2."""
    batch = create(api, {"a": hello(), "b": hello(), "c": hello()})
    sim.advance_clock(DELAY_MS / 1000 / 2)
    canceling = api.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None and canceling.ended_at is None
    assert counts(canceling)["processing"] == 3  # counts move only once the whole batch has ended

    ended = api.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at == ended.cancel_initiated_at
    assert counts(ended) == {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 2, "expired": 0}
    got = results(api, batch.id)
    assert got["a"].type == "succeeded" and got["b"].type == got["c"].type == "canceled"
    # "Batches may be canceled any time before processing ends" (the cancel reference): not after.
    with pytest.raises(anthropic.BadRequestError, match="already ended"):
        api.messages.batches.cancel(batch.id)


def test_a_request_in_flight_finishes_before_the_cancel_does(sim, api, tree):
    """The cancel reference: "the system may complete any in-progress, non-interruptible requests before
    finalizing cancellation". A `slow` rule (latency_ms) holds agent 1's request for 60 s: the cancel
    waits for it, and the request behind it is canceled."""
    _repo, _docs, tmp = tree
    sim.set_rules(["slow:batch=1,latency_ms=60000"])
    bodies = {"agent-1": first_turn(tmp, 1, ["alpha.md"]), "agent-2": first_turn(tmp, 2, ["delta.md"])}
    batch = create(api, bodies)
    sim.advance_clock(DELAY_MS / 1000 / 2 + 1)  # agent 1 started at D/2 and is still running
    api.messages.batches.cancel(batch.id)
    assert api.messages.batches.retrieve(batch.id).processing_status == "canceling"
    sim.advance_clock(60)
    ended = api.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at - ended.created_at == timedelta(milliseconds=DELAY_MS / 2 + 60_000)
    got = results(api, batch.id)
    assert (got["agent-1"].type, got["agent-2"].type) == ("succeeded", "canceled")


def test_a_slow_request_delays_the_end_of_its_batch(sim, api, tree):
    """A rule's latency_ms, which delays a /v1/messages answer, delays a batch request the same and
    every request behind it: the batch ends that much later."""
    _repo, _docs, tmp = tree
    sim.set_rules([f"slow:batch=1,latency_ms={2 * DELAY_MS}"])
    bodies = {"agent-1": first_turn(tmp, 1, ["alpha.md"]), "agent-2": first_turn(tmp, 2, ["delta.md"])}
    batch = create(api, bodies)
    assert finish(sim, api, batch).processing_status == "in_progress"
    sim.advance_clock(2 * DELAY_MS / 1000)
    ended = api.messages.batches.retrieve(batch.id)
    # Agent 1 starts at D/2 and takes 2D; agent 2, due at D, waits for it and is done at once.
    assert ended.ended_at - ended.created_at == timedelta(milliseconds=DELAY_MS / 2 + 2 * DELAY_MS)
    assert counts(ended)["succeeded"] == 2


def test_delete_only_once_ended(sim, api):
    """The delete reference: "Message Batches can only be deleted once they've finished processing. If
    you'd like to delete an in-progress batch, you must first cancel it." A deleted batch is gone."""
    batch = create(api, {"a": hello()})
    with pytest.raises(anthropic.BadRequestError, match="cancel it first"):
        api.messages.batches.delete(batch.id)
    finish(sim, api, batch)
    deleted = api.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        api.messages.batches.retrieve(batch.id)
    assert api.messages.batches.list().data == []


def test_unknown_batches_are_404_and_the_key_is_required(sim, api):
    """https://platform.claude.com/docs/en/api/errors: 404 not_found_error, 401 authentication_error."""
    for call in (
        lambda: api.messages.batches.retrieve("msgbatch_nothing"),
        lambda: api.messages.batches.cancel("msgbatch_nothing"),
        lambda: api.messages.batches.delete("msgbatch_nothing"),
    ):
        with pytest.raises(anthropic.NotFoundError):
            call()
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    conn.request("GET", "/v1/messages/batches", headers={"anthropic-version": "2023-06-01"})
    assert conn.getresponse().status == 401


def test_a_restarted_simulator_has_no_batches():
    """The state is in memory (DEVELOPERS.md says so): a batch does not survive its server."""
    with start_simulator() as first:
        batch = create(client(first.url), {"a": hello()})
    with start_simulator() as second, pytest.raises(anthropic.NotFoundError):
        client(second.url).messages.batches.retrieve(batch.id)


# --- the fault rules in a batch -----------------------------------------------------------------------


def test_http_fault_rules_end_their_request_errored_with_their_error_type(sim, api, tree):
    """BATCHES: errored, "Possible errors include invalid requests and internal server errors"; the Python
    example retries a non-invalid_request_error directly. An HTTP fault rule aimed at one agent errors
    that request with the error type its HTTP answer would have (overloaded_error for 529, api_error for
    500; https://platform.claude.com/docs/en/api/errors), and is used up as on /v1/messages."""
    _repo, _docs, tmp = tree
    sim.set_rules(["overloaded:batch=1,times=1", "server-error:batch=2,times=1", "drop-connection:batch=3"])
    bodies = {f"agent-{i}": first_turn(tmp, i, [sorted(DOCS)[(i - 1) % 3]], count=4) for i in (1, 2, 3, 4)}
    got = results(api, finish(sim, api, create(api, bodies)).id)
    assert got["agent-4"].type == "succeeded"
    types = {key: (got[key].type, got[key].error.error.type) for key in ("agent-1", "agent-2", "agent-3")}
    assert types == {
        "agent-1": ("errored", "overloaded_error"),
        "agent-2": ("errored", "api_error"),
        "agent-3": ("errored", "api_error"),
    }
    again = results(api, finish(sim, api, create(api, {"agent-1": bodies["agent-1"]})).id)
    assert again["agent-1"].type == "succeeded"  # times=1: used up by the first batch


def test_the_batch_expire_rule_expires_its_requests(sim, api, tree):
    """BATCHES: expired, "Batch reached its 24 hour expiration before this request could be sent to the
    model. You will not be billed for these requests." The `batch-expire` rule expires the requests it
    matches; the others are answered."""
    _repo, _docs, tmp = tree
    sim.set_rules(["batch-expire:batch=2"])
    bodies = {f"agent-{i}": first_turn(tmp, i, [sorted(DOCS)[i - 1]]) for i in (1, 2, 3)}
    ended = finish(sim, api, create(api, bodies))
    assert counts(ended) == {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 1}
    status, _headers, payload = raw(sim, "GET", f"/v1/messages/batches/{ended.id}/results")
    assert status == 200
    lines = {line["custom_id"]: line["result"] for line in map(json.loads, payload.decode().splitlines())}
    assert lines["agent-2"] == {"type": "expired"}  # no message, no usage: nothing to bill
    # On /v1/messages the rule never fires.
    assert api.messages.create(**bodies["agent-2"]).stop_reason == "tool_use"


def test_a_batch_not_done_in_24_hours_expires(sim, api):
    """BATCHES: "Batches expire if processing does not complete within 24 hours". With a delay of two
    days, the first of two requests is done at 24 h exactly, too late: both expire, and the batch ends
    at expires_at."""
    sim.set_batch_delay(2 * 24 * 60 * 60 * 1000)
    batch = create(api, {"a": hello(), "b": hello()})
    sim.advance_clock(24 * 60 * 60)
    ended = api.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at == ended.expires_at
    assert counts(ended) == {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 2}


def test_misbehaviours_follow_their_conversation_through_batches(sim, api, tree):
    """Every turn of two agents goes out as one batch, as erkweb's batch mode will send them: the
    `empty-file` misbehaviour chosen at agent 1's first request still holds at its write, two batches
    later, while agent 2 writes its file. The last turn ends with the final message."""
    repo, docs, tmp = tree
    sim.set_rules(["empty-file:batch=1"])
    shares = {1: ["alpha.md", "delta.md"], 2: ["beta/gamma.md"]}
    tools = {i: Tools(docs, repo, tmp / f"batch-{i}.md") for i in shares}
    conversations = {
        i: [{"role": "user", "content": batch_message(tmp / f"batch-{i}.md", share, index=i, count=2)}]
        for i, share in shares.items()
    }
    final = {}
    for _turn in range(6):
        waiting = {i: convo for i, convo in conversations.items() if i not in final}
        if not waiting:
            break
        bodies = {
            f"agent-{i}": {
                "model": MODEL,
                "max_tokens": 8000,
                "system": system_blocks(),
                "tools": TOOLS,
                "messages": convo,
            }
            for i, convo in waiting.items()
        }
        got = results(api, finish(sim, api, create(api, bodies)).id)
        for i, convo in waiting.items():
            message = got[f"agent-{i}"].message
            convo.append({"role": "assistant", "content": sendable(message.content)})
            if message.stop_reason != "tool_use":
                final[i] = "".join(b.text for b in message.content if b.type == "text")
                continue
            tool_uses = [b for b in message.content if b.type == "tool_use"]
            convo.append({"role": "user", "content": [tools[i].run(b) for b in tool_uses]})
    assert set(final) == {1, 2}
    assert (tmp / "batch-1.md").read_text() == ""
    measured = (measure(p, (docs / p).read_text(), lambda rel: (repo / rel).exists()) for p in shares[2])
    assert (tmp / "batch-2.md").read_text() == format_batch(measured)
    assert final[2] == final_message(str(tmp / "batch-2.md"))


def test_a_paused_turn_in_a_batch_is_continued_in_the_next_one(sim, api, tree):
    """BATCHES ("Server tools and the agentic loop"): "If a batch result comes back with pause_turn, the
    turn did not finish; you can continue it by submitting the paused assistant content in a follow-up
    request (batch or synchronous)". The `pause-turn` rule pauses a batch answer like a /v1/messages one."""
    _repo, _docs, tmp = tree
    sim.set_rules(["pause-turn:times=1"])
    body = first_turn(tmp, 1, ["alpha.md"])
    paused = results(api, finish(sim, api, create(api, {"agent-1": body})).id)["agent-1"].message
    assert paused.stop_reason == "pause_turn"
    continued = {
        **body,
        "messages": [*body["messages"], {"role": "assistant", "content": sendable(paused.content)}],
    }
    rest = results(api, finish(sim, api, create(api, {"agent-1": continued})).id)["agent-1"].message
    assert rest.stop_reason == "tool_use"
    assert [b.input["path"] for b in rest.content if b.type == "tool_use"] == ["alpha.md"]


def test_concurrent_pollers_process_each_request_once(sim, api):
    """The server is threaded: pollers asking at once each see the same ended batch, and a rule with
    times=3 errors exactly three of its ten requests (each request was processed once)."""
    sim.set_rules(["overloaded:times=3"])
    batch = create(api, {f"r{i}": hello() for i in range(10)})
    sim.server.clock.advance(DELAY_MS / 1000)  # due, but not processed until someone asks
    seen = []

    def poll():
        seen.append(counts(client(sim.url).messages.batches.retrieve(batch.id)))

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {"processing": 0, "succeeded": 7, "errored": 3, "canceled": 0, "expired": 0}
    assert seen == [expected] * 8


# --- list ---------------------------------------------------------------------------------------------


def test_list_pages_newest_first(sim, api):
    """The list reference: "Most recently created batches are returned first"; `limit` "Defaults to 20.
    Ranges from 1 to 1000"; after_id / before_id are cursors; has_more, first_id, last_id."""
    made = [create(api, {"a": hello()}).id for _ in range(5)]
    newest_first = list(reversed(made))
    assert [b.id for b in api.messages.batches.list(limit=2)] == newest_first  # the SDK pages on
    page = api.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    assert (page.first_id, page.last_id) == (newest_first[0], newest_first[1])
    after = api.messages.batches.list(limit=2, after_id=page.last_id)
    assert [b.id for b in after.data] == newest_first[2:4] and after.has_more
    last = api.messages.batches.list(limit=2, after_id=after.last_id)
    assert [b.id for b in last.data] == newest_first[4:] and not last.has_more
    before = api.messages.batches.list(limit=2, before_id=newest_first[4])
    assert [b.id for b in before.data] == newest_first[2:4] and before.has_more
    assert len(api.messages.batches.list().data) == 5  # default limit 20
    for limit in (0, 1001):
        with pytest.raises(anthropic.BadRequestError):
            api.messages.batches.list(limit=limit)
    with pytest.raises(anthropic.NotFoundError):
        api.messages.batches.list(after_id="msgbatch_nothing")


# --- the options --------------------------------------------------------------------------------------


def test_the_batch_delay_is_an_option_and_shows_in_health():
    parser = Command().create_parser("manage.py", "simulator")
    assert parser.parse_args([]).batch_delay_ms == 250
    assert parser.parse_args(["--batch-delay-ms", "40"]).batch_delay_ms == 40
    help_text = parser.format_help()
    assert "--batch-delay-ms" in help_text and "batch-expire" in help_text
    with pytest.raises(CommandError, match="--batch-delay-ms must be 0 or more"):
        call_command("simulator", "--batch-delay-ms", "-1")
    with start_simulator(batch_delay_ms=40) as sim:
        status, _headers, payload = raw(sim, "GET", "/_simulator/health")
        assert status == 200 and json.loads(payload)["batch_delay_ms"] == 40
        sim.set_batch_delay(900)
        batch = create(client(sim.url), {"a": hello()})
        sim.advance_clock(0.9)
        ended = client(sim.url).messages.batches.retrieve(batch.id)
        assert ended.ended_at - ended.created_at == timedelta(milliseconds=900)
