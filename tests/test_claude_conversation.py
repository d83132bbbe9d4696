"""The conversation as data: what a response means, and what the next request is (no I/O)."""

import json

import pytest

from runs.claude.conversation import AgentFailed, Conversation, Next, ToolCall


def started(max_turns=12) -> Conversation:
    return Conversation.start(
        model="claude-haiku-5-5",
        max_tokens=32_000,
        max_turns=max_turns,
        system="You are a batch agent.",
        user_message="Batch 1: read a.md",
        tools=[{"name": "read_file", "description": "d", "input_schema": {"type": "object"}}],
        expected_final="Output written to /tmp/out.md",
    )


def response(stop_reason, *blocks, usage=None):
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


THINKING = {"type": "thinking", "thinking": "plan", "signature": "sig"}
READ = {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.md"}}


def test_the_first_request_caches_the_system_prompt_and_the_first_message():
    request = started().request()
    assert request["model"] == "claude-haiku-5-5" and request["max_tokens"] == 32_000
    assert request["system"] == [
        {"type": "text", "text": "You are a batch agent.", "cache_control": {"type": "ephemeral"}}
    ]
    assert request["messages"][0]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    # Nothing the newer models refuse: no tool_choice, no sampling parameters (specs/models.md).
    assert set(request) == {"model", "max_tokens", "system", "tools", "messages"}


def test_a_tool_use_response_asks_for_its_tools():
    conversation = started()
    step = conversation.take(response("tool_use", THINKING, {"type": "text", "text": ""}, READ))
    assert step == Next("tools", calls=(ToolCall("toolu_1", "read_file", {"path": "a.md"}),))
    # The empty text block is not kept for the next request; the thinking block is, first.
    assert conversation.messages[-1] == {"role": "assistant", "content": [THINKING, READ]}
    turn = conversation.add_tool_results(
        [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "alpha"}], writes=0
    )
    assert conversation.messages[-1] is turn
    sent = conversation.request()["messages"]
    # Breakpoints on the two newest user messages only.
    marked = [i for i, m in enumerate(sent) if any("cache_control" in b for b in m["content"])]
    assert marked == [0, 2]


def test_pause_turn_is_resumed_with_the_paused_turn_last_and_nothing_added():
    """https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (pause_turn): send the
    response back as it is to let the model continue."""
    conversation = started()
    paused = {"type": "text", "text": "Working on it"}
    assert conversation.take(response("pause_turn", THINKING, paused)) == Next("resume")
    messages = conversation.request()["messages"]
    assert messages[-1] == {"role": "assistant", "content": [THINKING, paused]}
    assert len(messages) == 2
    # The continuation and the paused part are one assistant turn.
    assert conversation.take(response("tool_use", READ)).kind == "tools"
    assert conversation.messages[-1] == {"role": "assistant", "content": [THINKING, paused, READ]}


@pytest.mark.parametrize(
    ("stop_reason", "reason"),
    [
        ("max_tokens", r"^truncated: the response hit max_tokens \(32000\)$"),
        ("refusal", r"refused"),
        ("model_context_window_exceeded", r"exceeded the model's context window .*prompt of 10 tokens"),
    ],
)
def test_stops_that_are_failures(stop_reason, reason):
    with pytest.raises(AgentFailed, match=reason):
        started().take(response(stop_reason, {"type": "text", "text": "partial"}))


def test_turn_limit():
    conversation = started(max_turns=2)
    conversation.take(response("tool_use", READ))
    with pytest.raises(AgentFailed, match=r"turn limit reached \(2 turns\)"):
        conversation.take(response("tool_use", READ))


def test_the_final_message_and_its_warnings():
    conversation = started()
    conversation.take(response("tool_use", READ))
    conversation.add_tool_results([], writes=1)
    step = conversation.take(response("end_turn", {"type": "text", "text": "Output written to /tmp/out.md"}))
    assert step == Next("final", final_message="Output written to /tmp/out.md")
    assert conversation.warnings == [] and conversation.turns == 2

    other = started()
    other.take(response("end_turn", {"type": "text", "text": "Here are the results inline."}))
    assert other.warnings == [
        "final message was not 'Output written to /tmp/out.md' but 'Here are the results inline.'",
        "the agent ended without calling write_file",
    ]


def test_the_conversation_survives_json_between_turns():
    conversation = started()
    conversation.take(response("tool_use", THINKING, READ, usage={"input_tokens": 100, "output_tokens": 20}))
    conversation.add_tool_results(
        [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "alpha"}], warnings=["w"]
    )
    restored = Conversation.from_dict(json.loads(json.dumps(conversation.as_dict())))
    assert restored == conversation
    assert restored.request() == conversation.request()


def test_the_next_prompt_is_what_the_api_counted_plus_what_came_since():
    conversation = started()
    usage = {
        "input_tokens": 40,
        "cache_creation_input_tokens": 1_000,
        "cache_read_input_tokens": 500,
        "output_tokens": 60,
    }
    conversation.take(response("tool_use", READ, usage=usage))
    before = conversation.prompt_estimate()
    assert before == 1_600  # the prompt it was sent, and its own answer
    conversation.add_tool_results([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x" * 3_500}])
    assert 1_600 + 1_000 <= conversation.prompt_estimate() <= 1_600 + 1_100
