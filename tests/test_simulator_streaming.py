"""Streaming (`"stream": true`): the real event sequence, rebuilt by the SDK into the very message the
non-streaming path returns; and the rules that break a stream midway or end it with an error event.

The sequence is https://platform.claude.com/docs/en/build-with-claude/streaming's: message_start, ping,
content_block_start / content_block_delta (text_delta, thinking_delta, signature_delta, input_json_delta)
/ content_block_stop per block, message_delta (stop reason, cumulative usage), message_stop; an error
after the stream started is an `error` event.
"""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

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
    with_breakpoint,
)

PATHS = sorted(DOCS)


@pytest.fixture
def tree(tmp_path):
    repo, docs = make_tree(tmp_path)
    return repo, docs, tmp_path


def conversation(url: str, tree, *, stream: bool, json_pieces: list | None = None) -> list:
    """An audit-scan batch to its end, every turn streamed or not. Returns the final messages; with
    `json_pieces`, appends per streamed turn the number of input_json_delta events of each block."""
    repo, docs, tmp = tree
    tools = Tools(docs, repo, tmp / "out.md")
    api = client(url)
    messages = [{"role": "user", "content": [{"type": "text", "text": batch_message(tools.output, PATHS)}]}]
    responses = []
    for _ in range(6):
        kwargs = dict(
            model=MODEL,
            max_tokens=8000,
            system=system_blocks(),
            tools=TOOLS,
            messages=with_breakpoint(messages),
        )
        if stream:
            pieces: dict[int, int] = {}
            with api.messages.stream(**kwargs) as events:
                for event in events:
                    if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                        pieces[event.index] = pieces.get(event.index, 0) + 1
                response = events.get_final_message()
            if json_pieces is not None:
                json_pieces.append(pieces)
        else:
            response = api.messages.create(**kwargs)
        responses.append(response)
        messages.append({"role": "assistant", "content": sendable(response.content)})
        if response.stop_reason != "tool_use":
            break
        results = [tools.run(b) for b in response.content if b.type == "tool_use"]
        messages.append({"role": "user", "content": results})
    return responses


def comparable(message) -> dict:
    """The message without what differs from call to call by design (ids are random)."""
    data = message.model_dump(mode="json", exclude_none=True)
    data.pop("id")
    for block in data["content"]:
        if block["type"] == "tool_use":
            block.pop("id")
    return data


def test_the_sdk_rebuilds_from_the_stream_exactly_the_message_the_plain_call_returns(tree):
    pieces: list[dict] = []
    with start_simulator() as plain, start_simulator() as streamed:
        expected = conversation(plain.url, tree, stream=False)
        got = conversation(streamed.url, tree, stream=True, json_pieces=pieces)
    assert [m.stop_reason for m in got] == ["tool_use", "tool_use", "tool_use", "end_turn"]
    assert [comparable(m) for m in got] == [comparable(m) for m in expected]
    # The write_file call of turn 3 (the batch file, about 1,000 characters) came in several pieces.
    write_index = next(i for i, b in enumerate(got[2].content) if b.type == "tool_use")
    assert pieces[2][write_index] > 3
    # Usage included: input, cache writes by TTL, cache reads, output.
    assert got[1].usage.cache_read_input_tokens > 0
    assert got[0].usage.cache_creation.ephemeral_5m_input_tokens == got[0].usage.cache_creation_input_tokens


def raw_events(url: str, body: dict) -> list[tuple[str, dict]]:
    response = httpx2.post(
        url + "/v1/messages",
        json={**body, "stream": True},
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for chunk in response.text.split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def first_turn_body(tmp) -> dict:
    return {
        "model": MODEL,
        "max_tokens": 8000,
        "system": system_blocks(),
        "tools": TOOLS,
        "messages": [{"role": "user", "content": batch_message(tmp / "out.md", PATHS)}],
    }


def test_the_event_sequence_and_where_usage_goes(tree):
    tmp = tree[2]
    with start_simulator(quirks=False) as sim:
        events = raw_events(sim.url, first_turn_body(tmp))
        plain = client(sim.url).messages.create(**first_turn_body(tmp))
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    # Per block: start, deltas, stop, with the block's index; a thinking block then three tool calls.
    starts = [data for name, data in events if name == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["thinking", "tool_use", "tool_use", "tool_use"]
    assert [s["index"] for s in starts] == [0, 1, 2, 3]
    thinking_deltas = [
        d["delta"]["type"] for n, d in events if n == "content_block_delta" and d["index"] == 0
    ]
    assert thinking_deltas[-1] == "signature_delta" and set(thinking_deltas[:-1]) == {"thinking_delta"}
    json_pieces = [
        d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1
    ]
    assert json.loads("".join(json_pieces)) == {"path": PATHS[0]}
    assert starts[1]["content_block"]["input"] == {}
    # Usage: input and cache counts up front, output at the end (cumulative).
    start_usage = events[0][1]["message"]["usage"]
    assert start_usage["output_tokens"] == 1
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == plain.usage.output_tokens
    for key in ("input_tokens", "cache_creation_input_tokens"):
        assert start_usage[key] == delta["usage"][key]


def test_break_stream_drops_the_connection_after_n_events(tree):
    """The rule `break-stream:after_events=N` sends N events, then closes the socket mid-stream."""
    tmp = tree[2]
    with start_simulator(rules=["break-stream:after_events=3,times=1"]) as sim:
        api = client(sim.url)
        seen = []
        broken = pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError))
        with broken, api.messages.stream(**first_turn_body(tmp)) as stream:
            for event in stream:
                seen.append(event.type)
        # message_start, ping (the SDK does not pass pings on), then the first block's start: no more.
        assert seen == ["message_start", "content_block_start"]
        assert sim.rules[0]["fired"] == 1
        # Used up: the next stream is whole, and a plain (non-streamed) call never fires it.
        with api.messages.stream(**first_turn_body(tmp)) as stream:
            assert stream.get_final_message().stop_reason == "tool_use"


def test_break_stream_does_not_fire_on_plain_calls(tree):
    tmp = tree[2]
    with start_simulator(rules=["break-stream"]) as sim:
        assert client(sim.url).messages.create(**first_turn_body(tmp)).stop_reason == "tool_use"
        assert sim.rules[0]["fired"] == 0


def test_stream_error_sends_an_error_event_midway(tree):
    """An overloaded error after the 200 arrives as an `error` event; the SDK raises it."""
    tmp = tree[2]
    with start_simulator(rules=["stream-error:after_events=2,times=1"]) as sim:
        events = raw_events(sim.url, first_turn_body(tmp))
        assert [name for name, _ in events] == ["message_start", "ping", "error"]
        assert events[-1][1]["error"]["type"] == "overloaded_error"
        sim.set_rules(["stream-error:times=1"])
        failed = pytest.raises(anthropic.APIStatusError)
        with failed as info, client(sim.url).messages.stream(**first_turn_body(tmp)) as stream:
            stream.get_final_message()
        assert info.value.body["error"]["type"] == "overloaded_error"
