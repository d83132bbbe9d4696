"""The simulator speaks the Messages API: endpoints, headers, validation, usage and caching.

Everything goes through real sockets and, where the SDK can send the request, through the SDK itself.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request

import anthropic
import pytest

from runs.simulator import tokens
from runs.simulator.cache import PromptCache
from runs.simulator.server import start_simulator
from runs.simulator.validation import sign_thinking, verify_thinking
from tests.simulator_fixtures import EPHEMERAL, TOOLS, client

MODEL = "claude-haiku-5-5"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def sim():
    with start_simulator() as handle:
        yield handle


@pytest.fixture
def api(sim):
    return client(sim.url)


def http(sim, method: str, path: str, body=None, headers=None):
    """A raw HTTP call: (status, headers, decoded JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"null")


def post(api, body: dict, path: str = "/v1/messages"):
    """POST any body through the SDK's client (for shapes that messages.create would not build)."""
    return api.post(path, cast_to=object, body=body)


def bad_request(api, body: dict) -> str:
    with pytest.raises(anthropic.BadRequestError) as info:
        post(api, body)
    error = info.value
    assert error.status_code == 400
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == "invalid_request_error"
    assert error.body["request_id"] == error.request_id
    return error.body["error"]["message"]


def request(**overrides) -> dict:
    body = {"model": MODEL, "max_tokens": 100, "messages": HELLO}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


# --- endpoints and headers ----------------------------------------------------------------------------


def test_health_and_headers(sim):
    status, headers, body = http(sim, "GET", "/_simulator/health")
    assert status == 200
    assert body["simulator"] == "erkweb" and body["version"] == 1 and body["latency_ms"] == 0
    assert headers["erkweb-simulator"] == "1"
    assert headers["request-id"].startswith("req_")


def test_unknown_path_is_an_anthropic_shaped_404(sim):
    status, headers, body = http(sim, "GET", "/v1/nothing-here")
    assert status == 404
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    assert body["request_id"] == headers["request-id"]
    assert headers["erkweb-simulator"] == "1"


def test_rules_endpoint_lists_replaces_adds_and_clears(sim):
    assert http(sim, "GET", "/_simulator/rules")[2] == {"rules": []}
    status, _, body = http(sim, "POST", "/_simulator/rules", [{"behaviour": "rate-limit", "times": 2}])
    assert status == 200 and [r["behaviour"] for r in body["rules"]] == ["rate-limit"]
    _, _, body = http(sim, "POST", "/_simulator/rules", {"behaviour": "empty-file", "batch": 2})
    assert [r["behaviour"] for r in body["rules"]] == ["rate-limit", "empty-file"]
    _, _, body = http(sim, "POST", "/_simulator/rules", {"rules": [{"behaviour": "slow"}], "mode": "replace"})
    assert [(r["behaviour"], r["remaining"]) for r in body["rules"]] == [("slow", None)]
    assert sim.rules == body["rules"]
    status, _, body = http(sim, "POST", "/_simulator/rules", [{"behaviour": "explode"}])
    assert status == 400 and "unknown behaviour 'explode'" in body["error"]["message"]
    assert http(sim, "DELETE", "/_simulator/rules")[2] == {"rules": []}
    assert sim.rules == []


def test_messages_answer_has_the_message_shape(api, sim):
    raw = api.messages.with_raw_response.create(model=MODEL, max_tokens=200, messages=HELLO)
    assert raw.headers["erkweb-simulator"] == "1"
    assert raw.headers["request-id"].startswith("req_")
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant" and message.model == MODEL
    assert message.id.startswith("msg_")
    # No operation marker in the system prompt: a polite text answer.
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert "simulator" in message.content[0].text
    assert message.usage.input_tokens == tokens.count_text("Hello")
    assert message.usage.output_tokens == tokens.count_output([message.content[0].model_dump()])
    assert message.usage.cache_creation_input_tokens == 0 and message.usage.cache_read_input_tokens == 0


def test_streaming_gives_the_same_message(api):
    with api.messages.stream(model=MODEL, max_tokens=200, messages=HELLO) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "end_turn"
    assert "simulator" in message.content[0].text
    assert message.usage.output_tokens > 1


def test_max_tokens_truncates_and_says_so(api):
    message = api.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 5
    assert len(message.content[0].text) <= 5 * tokens.CHARS_PER_TOKEN


def test_stop_sequences(api):
    message = api.messages.create(model=MODEL, max_tokens=500, messages=HELLO, stop_sequences=["simulator"])
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "simulator"
    assert "simulator" not in message.content[0].text


# --- authentication -----------------------------------------------------------------------------------


def test_401_without_an_api_key(sim):
    status, headers, body = http(
        sim, "POST", "/v1/messages", request(), headers={"anthropic-version": "2023-06-01"}
    )
    assert status == 401
    assert body["error"]["type"] == "authentication_error"
    assert body["request_id"] == headers["request-id"]


def test_any_key_is_accepted_in_x_api_key_or_bearer_and_never_echoed(sim, api):
    key = "sk-ant-secret-do-not-echo"
    status, headers, body = http(
        sim, "POST", "/v1/messages", request(), headers={"x-api-key": key, "anthropic-version": "2023-06-01"}
    )
    assert status == 200
    assert key not in json.dumps(body) and key not in str(headers)
    # The installed SDK sends its key as Authorization: Bearer.
    assert api.messages.create(model=MODEL, max_tokens=50, messages=HELLO).stop_reason in (
        "end_turn",
        "max_tokens",
    )
    status, headers, body = http(sim, "POST", "/v1/messages", {"model": 1}, headers={"x-api-key": key})
    assert status == 400 and key not in json.dumps(body) and key not in str(headers)


def test_the_sdk_raises_authentication_error(sim):
    api = anthropic.Anthropic(
        api_key="x", base_url=sim.url, max_retries=0, default_headers={"Authorization": anthropic.Omit()}
    )
    with pytest.raises(anthropic.AuthenticationError):
        api.messages.create(model=MODEL, max_tokens=50, messages=HELLO)


# --- validation ---------------------------------------------------------------------------------------


def test_model_is_required_and_must_be_a_published_model(api):
    """An id no Anthropic page publishes is a 404 not_found_error, as on the real API
    (https://platform.claude.com/docs/en/api/errors)."""
    assert bad_request(api, {"max_tokens": 10, "messages": HELLO}) == "model: Field required"
    assert "not a valid model id" in bad_request(api, request(model="gpt-4o"))
    assert "not a valid model id" in bad_request(api, request(model=5))
    with pytest.raises(anthropic.NotFoundError) as info:
        post(api, request(model="claude-future-9"))
    assert info.value.status_code == 404
    assert info.value.body["error"] == {"type": "not_found_error", "message": "model: claude-future-9"}
    assert post(api, request(model="claude-haiku-4-5-20251001"))["model"] == "claude-haiku-4-5-20251001"


def test_max_tokens(api):
    assert bad_request(api, {"model": MODEL, "messages": HELLO}) == "max_tokens: Field required"
    assert "greater than or equal to 1" in bad_request(api, request(max_tokens=0))
    assert "valid integer" in bad_request(api, request(max_tokens="10"))
    assert "maximum allowed number of output tokens" in bad_request(api, request(max_tokens=200_000))


def test_messages_must_be_present_start_with_user_and_alternate(api):
    assert "at least one message" in bad_request(api, request(messages=[]))
    assert bad_request(api, {"model": MODEL, "max_tokens": 10}) == "messages: Field required"
    assert 'first message must use the "user" role' in bad_request(
        api, request(messages=[{"role": "assistant", "content": "hi"}, {"role": "user", "content": "hi"}])
    )
    message = bad_request(
        api, request(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    )
    assert "roles must alternate" in message
    assert "prefill" in bad_request(
        api, request(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    )
    assert "role" in bad_request(api, request(messages=[{"role": "system", "content": "a"}]))


def test_unknown_content_block_types(api):
    message = bad_request(
        api, request(messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}])
    )
    assert message.startswith("messages.0.content.0.type: Input tag 'video'")
    # A block type that exists, in the wrong role.
    convo = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "y"}]},
        {"role": "user", "content": "b"},
    ]
    assert "messages.1.content.0.type" in bad_request(api, request(messages=convo))
    assert "non-empty" in bad_request(
        api, request(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}])
    )


def tool_turns(result_id: str = "toolu_1", *, answered: bool = True, extra_use: bool = False) -> list[dict]:
    uses = [{"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.md"}}]
    if extra_use:
        uses.append({"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {"path": "b.md"}})
    results = [{"type": "tool_result", "tool_use_id": result_id, "content": "text"}]
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": uses},
        {"role": "user", "content": results if answered else [{"type": "text", "text": "hm"}]},
    ]


def test_tool_results_must_answer_the_previous_tool_uses(api):
    assert post(api, request(messages=tool_turns(), tools=TOOLS))["type"] == "message"
    message = bad_request(api, request(messages=tool_turns("toolu_9"), tools=TOOLS))
    assert message.startswith(
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9"
    )
    message = bad_request(api, request(messages=tool_turns(extra_use=True), tools=TOOLS))
    assert "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_2" in message
    message = bad_request(api, request(messages=tool_turns(answered=False), tools=TOOLS))
    assert "without `tool_result` blocks" in message
    # A tool_result answering a tool_use from two turns back is not an answer either.
    convo = [
        *tool_turns(),
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "again"}]},
    ]
    assert "unexpected `tool_use_id`" in bad_request(api, request(messages=convo, tools=TOOLS))
    assert "must define tools" in bad_request(api, request(messages=tool_turns()))


def test_tool_result_content_may_be_a_string_or_text_blocks(api):
    convo = tool_turns()
    convo[2]["content"][0]["content"] = [
        {"type": "text", "text": "part one"},
        {"type": "text", "text": "two"},
    ]
    body = request(messages=convo, tools=TOOLS)
    assert post(api, body)["type"] == "message"
    del body["max_tokens"]  # count_tokens refuses it, like the API
    assert post(api, body, "/v1/messages/count_tokens")["input_tokens"] == tokens.count_request(body)
    convo[2]["content"][0]["content"] = [{"type": "video"}]
    assert "messages.2.content.0.content.0.type" in bad_request(api, request(messages=convo, tools=TOOLS))


def test_tool_definitions_are_checked(api):
    schema = {"type": "object", "properties": {}}
    assert "tools.0.name: String should match pattern" in bad_request(
        api, request(tools=[{"name": "read file", "input_schema": schema}])
    )
    assert "tools.0.input_schema: Field required" in bad_request(api, request(tools=[{"name": "x"}]))
    assert "tools.0.input_schema.type: Input should be 'object'" in bad_request(
        api, request(tools=[{"name": "x", "input_schema": {"type": "string"}}])
    )
    assert "Tool names must be unique" in bad_request(
        api, request(tools=[{"name": "x", "input_schema": schema}, {"name": "x", "input_schema": schema}])
    )
    assert "tools.1.input_schema.required" in bad_request(
        api,
        request(
            tools=[
                {"name": "x", "input_schema": schema},
                {"name": "y", "input_schema": {**schema, "required": "a"}},
            ]
        ),
    )


def test_thinking_signatures_are_verified(api):
    signature = sign_thinking("I should read the file.")
    assert verify_thinking("I should read the file.", signature) == {"b": ""}
    assert verify_thinking("I should read the file!", signature) is None

    def convo(thinking: str, sig: str) -> list[dict]:
        turns = tool_turns()
        turns[1]["content"].insert(0, {"type": "thinking", "thinking": thinking, "signature": sig})
        return turns

    assert post(api, request(messages=convo("I should read the file.", signature), tools=TOOLS))
    message = bad_request(api, request(messages=convo("I should read another file.", signature), tools=TOOLS))
    assert message.startswith("messages.1.content.0: Invalid `signature` in `thinking` block")
    assert "Invalid `signature`" in bad_request(api, request(messages=convo("x", "forged"), tools=TOOLS))


def test_sampling_parameters_are_refused_on_generation_5_models(api):
    for model in ("claude-sonnet-5-5", "claude-opus-5", "claude-sonnet-5", "claude-haiku-5-5"):
        message = bad_request(api, request(model=model, temperature=0.2))
        assert message.startswith("temperature: sampling parameters") and model in message
    assert bad_request(api, request(model="claude-opus-5-5", top_p=0.9)).startswith("top_p:")
    assert bad_request(api, request(model="claude-sonnet-5-5", top_k=5)).startswith("top_k:")
    # Older models still take them, as the SDK sends them (extra_body: SDK 2.14 has no such argument).
    message = api.messages.create(
        model="claude-haiku-4-5", max_tokens=20, messages=HELLO, extra_body={"temperature": 0}
    )
    assert message.type == "message"
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        api.messages.create(
            model="claude-sonnet-5-5", max_tokens=20, messages=HELLO, extra_body={"temperature": 0}
        )


def test_forced_tool_choice_is_refused_on_the_5_5_models_and_fable_5_1(api):
    """models.md and https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5: forced tool
    use returns an error on Sonnet 5.5, Opus 5.5 and Fable 5.1; Opus 5 still takes it."""
    for choice in ({"type": "any"}, {"type": "tool", "name": "read_file"}):
        for model in ("claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1"):
            message = bad_request(api, request(model=model, tools=TOOLS, tool_choice=choice))
            assert message.startswith("tool_choice: forcing tool use")
        assert post(api, request(model="claude-opus-5", tools=TOOLS, tool_choice=choice))["type"] == "message"
    assert post(api, request(model="claude-sonnet-5-5", tools=TOOLS, tool_choice={"type": "auto"}))
    assert "not defined in tools" in bad_request(
        api, request(model="claude-opus-5", tools=TOOLS, tool_choice={"type": "tool", "name": "nope"})
    )


def test_other_request_checks(api):
    assert bad_request(api, request(temperatur=1)) == "temperatur: Extra inputs are not permitted"
    five = [{"type": "text", "text": f"block {i}", "cache_control": EPHEMERAL} for i in range(5)]
    assert "A maximum of 4 blocks with cache_control" in bad_request(
        api, request(messages=[{"role": "user", "content": five}])
    )
    assert "cache_control.type" in bad_request(
        api,
        request(messages=[{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}]),
    )
    assert "budget_tokens" in bad_request(api, request(thinking={"type": "enabled", "budget_tokens": 10}))
    status_body = bad_request(api, request(system=[{"type": "image"}]))
    assert status_body.startswith("system.0.type")


def test_invalid_json_body(sim):
    request_ = urllib.request.Request(
        sim.url + "/v1/messages",
        data=b"{not json",
        method="POST",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request_, timeout=10)
    body = json.loads(info.value.read())
    assert info.value.code == 400 and "error parsing the body" in body["error"]["message"]


# --- count_tokens and usage ---------------------------------------------------------------------------


def test_count_tokens(api):
    system = "abcd" * 10  # 10 tokens
    result = api.messages.count_tokens(
        model=MODEL,
        system=system,
        messages=[{"role": "user", "content": "hello"}],  # 2 tokens
    )
    assert result.input_tokens == 12
    body = {"model": MODEL, "system": system, "tools": TOOLS, "messages": tool_turns()}
    expected = (
        sum(math.ceil(len(tokens.compact_json(tool)) / 4) for tool in TOOLS)
        + 10
        + tokens.count_text("go")
        + tokens.count_text('{"path":"a.md"}')
        + tokens.count_text("text")
    )
    assert post(api, body, "/v1/messages/count_tokens") == {"input_tokens": expected}
    with pytest.raises(anthropic.BadRequestError, match="messages: at least one message"):
        api.messages.count_tokens(model=MODEL, messages=[])


def test_usage_reports_cache_writes_then_reads(api):
    # 1,350 tokens: over the minimum cacheable prompt of Haiku 5.5 (512) and Sonnet 5.5 (1,024).
    system = [{"type": "text", "text": "You are a careful counter. " * 200, "cache_control": EPHEMERAL}]
    system_tokens = tokens.count_block(system[0])
    first = api.messages.create(model=MODEL, max_tokens=50, system=system, messages=HELLO)
    assert first.usage.cache_creation_input_tokens == system_tokens
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == system_tokens
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.input_tokens == tokens.count_text("Hello")

    second = api.messages.create(
        model=MODEL, max_tokens=50, system=system, messages=[{"role": "user", "content": "Hi"}]
    )
    assert second.usage.cache_read_input_tokens == system_tokens
    assert second.usage.cache_creation_input_tokens == 0
    # The cache is per model.
    other = api.messages.create(model="claude-sonnet-5-5", max_tokens=50, system=system, messages=HELLO)
    assert (
        other.usage.cache_read_input_tokens == 0 and other.usage.cache_creation_input_tokens == system_tokens
    )


# --- the cache on its own -----------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def cached_body(*messages: str, model: str = MODEL) -> dict:
    convo = []
    for i, text in enumerate(messages):
        convo.append(
            {"role": "user" if i % 2 == 0 else "assistant", "content": [{"type": "text", "text": text}]}
        )
    convo[-1]["content"][-1]["cache_control"] = EPHEMERAL
    return {
        "model": model,
        # 600 tokens: over Haiku 5.5's minimum cacheable prompt (512), so that it is cached.
        "system": [{"type": "text", "text": "s" * 2400, "cache_control": EPHEMERAL}],
        "messages": convo,
    }


def test_cache_ttl_is_five_minutes_and_a_hit_refreshes_it():
    clock = Clock()
    cache = PromptCache(clock)
    body = cached_body("x" * 40)
    assert cache.account(body).cache_creation_input_tokens == 610
    clock.now += 299
    assert cache.account(body).cache_read_input_tokens == 610  # refreshed here
    clock.now += 299
    assert cache.account(body).cache_read_input_tokens == 610
    clock.now += 301
    usage = cache.account(body)
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens == 610


def test_cache_reads_the_previous_turn_when_the_breakpoint_moves():
    cache = PromptCache(Clock())
    cache.account(cached_body("a" * 40))
    usage = cache.account(cached_body("a" * 40, "b" * 40, "c" * 40))
    assert usage.cache_read_input_tokens == 610  # system + first message, found by looking back
    assert usage.cache_creation_input_tokens == 20
    assert usage.input_tokens == 0
    assert cache.peek(cached_body("a" * 40, "b" * 40, "c" * 40)).cache_read_input_tokens == 630


def test_cache_lookback_is_limited_to_20_blocks():
    cache = PromptCache(Clock())
    cache.account(cached_body("a" * 40))
    many = ["a" * 40] + [f"turn {i}" for i in range(22)]
    assert cache.account(cached_body(*many[:23])).cache_read_input_tokens == 600  # only the system prompt


def test_one_hour_breakpoints_are_counted_apart():
    cache = PromptCache(Clock())
    body = cached_body("x" * 40)
    body["system"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    usage = cache.account(body)
    assert (usage.ephemeral_1h_input_tokens, usage.ephemeral_5m_input_tokens) == (600, 10)


# --- latency ------------------------------------------------------------------------------------------


def test_latency_delays_each_call_without_blocking_other_connections():
    with start_simulator(latency_ms=400) as handle:
        assert http(handle, "GET", "/_simulator/health")[2]["latency_ms"] == 400
        api = client(handle.url)
        durations: list[float] = []

        def call():
            started = time.monotonic()
            anthropic.Anthropic(api_key="k", base_url=handle.url, max_retries=0).messages.create(
                model=MODEL, max_tokens=20, messages=HELLO
            )
            durations.append(time.monotonic() - started)

        started = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        health_started = time.monotonic()
        http(handle, "GET", "/_simulator/health")
        health_took = time.monotonic() - health_started
        for thread in threads:
            thread.join()
        total = time.monotonic() - started
        assert len(durations) == 4 and min(durations) >= 0.4
        assert total < 1.4  # four calls of 0.4 s each, side by side (one after another: 1.6 s)
        assert health_took < 0.3
        handle.set_latency(0)
        started = time.monotonic()
        api.messages.create(model=MODEL, max_tokens=20, messages=HELLO)
        assert time.monotonic() - started < 0.3
