"""The tool-use loop on the real SDK against the simulator, over real sockets."""

import os
import time
from decimal import Decimal

import anthropic
import pytest
from django.conf import settings

from runs.claude.agent import AgentCancelled, Limits, run_agent
from runs.claude.conversation import AgentFailed, Conversation, sendable, with_breakpoints
from runs.operations.audit_scan import prompts
from runs.operations.base import final_message
from runs.tools import Toolbox

from .agent_fixtures import audit_batch

LIMITS = Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=60, max_retries=0)


@pytest.fixture
def batch(repo, tmp_path):
    return audit_batch(repo, tmp_path)


def client_for(sim):
    return anthropic.Anthropic(api_key="test-key", base_url=sim.url, max_retries=0)


class Hooks:
    """The engine's side of the loop, recorded: ``turns`` gets (usage, cost, entries) per response,
    entries recorded before it (tool results, failed attempts) included, as the batch's rows get them."""

    def __init__(self, turns: list, cancelled=lambda: False):
        self.turns, self.cancelled, self.records, self._before = turns, cancelled, [], []

    def before_turn(self, worst_case_cost):
        self.worst = worst_case_cost
        if self.cancelled():
            raise AgentCancelled("cancelled")

    def record(self, entries, usage, cost):
        self.records.append((entries, usage, cost))
        if any(entry["role"] == "assistant" for entry in entries):
            self.turns.append((usage, cost, [*self._before, *entries]))
            self._before = []
        else:
            self._before.extend(entries)


def conversation_for(batch, model="claude-sonnet-5-5", limits=LIMITS) -> Conversation:
    return Conversation.start(
        model=model,
        max_tokens=limits.max_output_tokens,
        max_turns=limits.max_turns,
        system=prompts.SYSTEM_PROMPT,
        user_message=batch["message"],
        tools=batch["toolbox"].schemas,
        expected_final=final_message(str(batch["out"])),
    )


def agent(sim, batch, *, limits=LIMITS, turns=None, cancelled=lambda: False, prices=None, hooks=None):
    hooks = hooks or Hooks([] if turns is None else turns, cancelled)
    return run_agent(
        client_for(sim),
        conversation_for(batch, limits=limits),
        batch["toolbox"],
        limits=limits,
        prices=settings.ERKWEB_MODELS["sonnet"] if prices is None else prices,
        hooks=hooks,
    )


def test_agent_reads_checks_writes_and_reports(simulator, batch):
    turns = []
    outcome = agent(simulator, batch, turns=turns)
    assert outcome.final_message == f"Output written to {batch['out']}"
    assert outcome.warnings == [] and outcome.turns == 4
    assert batch["out"].read_text() == batch["expected"]
    # Every turn's usage and cost are reported as it happens.
    assert len(turns) == 4
    assert all(cost > 0 for _, cost, _ in turns)
    # The first turn's transcript starts with the system prompt and the batch message.
    first_entries = turns[0][2]
    assert first_entries[0] == {"role": "system", "text": prompts.SYSTEM_PROMPT}
    assert first_entries[1]["content"][0]["text"] == batch["message"]
    # Turn 1 reads all three docs in parallel; thinking blocks come back in every assistant turn.
    first_reply = first_entries[2]
    assert [b["type"] for b in first_reply["content"]].count("tool_use") == 3
    assert first_reply["content"][0]["type"] == "thinking" and first_reply["content"][0]["signature"]
    # Later turns read the conversation so far from the cache instead of paying for it again.
    assert turns[1][0]["cache_read_tokens"] >= turns[0][0]["cache_write_tokens"]
    assert turns[3][0]["cache_read_tokens"] > turns[2][0]["cache_read_tokens"]


def test_second_batch_reads_the_system_prompt_from_cache(simulator, batch):
    turns_a, turns_b = [], []
    agent(simulator, batch, turns=turns_a)
    batch["out"].unlink()
    agent(simulator, batch, turns=turns_b)
    assert turns_a[0][0]["cache_read_tokens"] == 0
    assert turns_b[0][0]["cache_read_tokens"] > 0


def test_the_api_key_never_reaches_the_transcript(simulator, batch):
    turns = []
    agent(simulator, batch, turns=turns)
    assert "test-key" not in repr(turns)


def test_turn_limit(simulator, batch):
    with pytest.raises(AgentFailed, match=r"turn limit reached \(2 turns\)"):
        agent(simulator, batch, limits=Limits(max_turns=2, max_output_tokens=32_000, time_limit_s=60))


def test_time_limit(simulator, batch):
    simulator.set_latency(400)
    with pytest.raises(AgentFailed, match=r"time limit reached|timed out|time ran out"):
        agent(simulator, batch, limits=Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=0.6))


def test_max_tokens_is_a_failure_never_a_success(simulator, batch):
    with pytest.raises(AgentFailed, match="truncated"):
        agent(simulator, batch, limits=Limits(max_turns=12, max_output_tokens=60, time_limit_s=60))


def test_cancellation_stops_before_the_next_turn(simulator, batch):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(AgentCancelled):
        agent(simulator, batch, cancelled=cancelled)
    assert not batch["out"].exists(), "stopped before the write turn"


def test_rate_limit_is_retried_after_the_wait_the_api_asked(simulator, batch):
    simulator.set_rules([{"behaviour": "rate-limit", "times": 1}])
    hooks = Hooks([])
    started = time.monotonic()
    outcome = agent(simulator, batch, limits=Limits(12, 32_000, 60, max_retries=2), hooks=hooks)
    assert outcome.turns == 4 and batch["out"].read_text() == batch["expected"]
    # The simulator's 429 asks for retry-after: 1; the loop waited that long, and said so.
    assert time.monotonic() - started >= 1.0
    errors = [entry for entries, _, _ in hooks.records for entry in entries if entry["role"] == "error"]
    assert len(errors) == 1
    assert errors[0]["status"] == 429 and errors[0]["error_type"] == "rate_limit_error"
    assert errors[0]["wait_s"] == 1.0 and errors[0]["attempt"] == 1
    assert errors[0]["text"].endswith("retry 1 in 1.0 s (as the API asked)")


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("overloaded", "API error 529 overloaded_error"),
        ("server-error", "API error 500 api_error"),
        ("drop-connection", "could not reach the API"),
    ],
)
def test_api_failures_fail_the_batch_with_a_reason(simulator, batch, behaviour, message):
    simulator.set_rules([{"behaviour": behaviour}])
    with pytest.raises(AgentFailed, match=message):
        agent(simulator, batch)


def test_bad_request_is_reported_with_the_api_message(simulator, batch):
    # An unknown model id is a 404 not_found_error (https://platform.claude.com/docs/en/api/errors).
    with pytest.raises(AgentFailed, match=r"^API error 404 not_found_error: "):
        run_agent(
            client_for(simulator),
            conversation_for(batch, model="claude-imaginary-9"),
            batch["toolbox"],
            limits=LIMITS,
            prices={},
            hooks=Hooks([]),
        )


def test_refused_tool_calls_become_warnings(simulator, batch):
    simulator.set_rules([{"behaviour": "write-outside"}])
    outcome = agent(simulator, batch)
    assert any(w.startswith("refused write_file") for w in outcome.warnings)
    assert "the agent ended without calling write_file" in outcome.warnings
    assert not batch["out"].exists()


def test_inline_answer_is_a_warning_and_leaves_no_file(simulator, batch):
    simulator.set_rules([{"behaviour": "inline"}])
    outcome = agent(simulator, batch)
    assert any("final message was not" in w for w in outcome.warnings)
    assert not batch["out"].exists()


def test_breakpoints_go_on_the_two_newest_user_turns_only():
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "r"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "y", "content": "s"}]},
    ]
    sent = with_breakpoints(messages)
    marked = [
        i
        for i, m in enumerate(sent)
        if any("cache_control" in b for b in m["content"] if isinstance(b, dict))
    ]
    assert marked == [2, 4]
    assert sent[4]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in b for m in messages[1:] for b in m["content"]), (
        "the conversation is unchanged"
    )
    assert sent[0] == messages[0] and sent[1] is messages[1]


def test_cost_uses_the_price_table():
    from runs.claude.pricing import call_cost

    haiku = settings.ERKWEB_MODELS["haiku"]
    usage = {"input_tokens": 1_000_000, "output_tokens": 0, "cache_write_tokens": 0, "cache_read_tokens": 0}
    # Over Haiku 5.5's 100K-token prompt line, the whole request is billed at five times the rate.
    assert call_cost(haiku, usage) == Decimal("0.5")
    small = {
        "input_tokens": 50_000,
        "output_tokens": 1_000,
        "cache_write_tokens": 40_000,
        "cache_read_tokens": 10_000,
    }
    expected = (50_000 * 0.10 + 1_000 * 0.50 + 40_000 * 0.125 + 10_000 * 0.01) / 1_000_000
    assert call_cost(haiku, small) == Decimal(str(round(expected, 6)))
    assert call_cost({}, small) == 0


def test_empty_text_blocks_are_not_sent_back_and_thinking_blocks_are_kept_in_order():
    """The API can answer an empty text block beside a tool_use, then refuses the request that echoes
    it with 400 "messages: text content blocks must be non-empty"
    (https://github.com/anthropics/anthropic-sdk-python/issues/461). Thinking and redacted thinking
    blocks must go back unchanged and in order
    (https://platform.claude.com/docs/en/build-with-claude/extended-thinking, preserving thinking blocks)."""
    from anthropic.types import RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolUseBlock

    content = [
        ThinkingBlock(type="thinking", thinking="plan", signature="sig-1"),
        TextBlock(type="text", text=""),
        RedactedThinkingBlock(type="redacted_thinking", data="opaque"),
        TextBlock(type="text", text=" \n\t"),
        TextBlock(type="text", text="Reading the docs."),
        ThinkingBlock(type="thinking", thinking="", signature="sig-2"),
        ToolUseBlock(type="tool_use", id="toolu_1", name="read_file", input={"path": "a.md"}),
    ]
    assert sendable([block.model_dump(mode="json", exclude_none=True) for block in content]) == [
        {"type": "thinking", "thinking": "plan", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Reading the docs."},
        {"type": "thinking", "thinking": "", "signature": "sig-2"},
        {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.md"}},
    ]


def test_an_empty_doc_and_an_unreadable_one_go_back_to_the_agent_as_results(simulator, batch):
    """Every tool result carries content, an error one with is_error and a message saying what went wrong
    (https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls); a doc the tool
    cannot read costs the agent a result, not the batch."""
    from runs.tools import EMPTY_FILE_RESULT

    docs = batch["toolbox"].read_root
    (docs / "empty.md").write_bytes(b"")
    os.mkfifo(docs / "pipe.md")
    paths = [*batch["paths"], "empty.md", "pipe.md"]
    batch["message"] = prompts.batch_message(
        run_id="audit-scan-t", index=1, count=1, output_path=str(batch["out"]), paths=paths
    )
    turns = []
    outcome = agent(simulator, batch, turns=turns)
    assert outcome.final_message == f"Output written to {batch['out']}"
    assert "refused read_file: pipe.md is not a regular file" in outcome.warnings
    results = {
        block["tool_use_id"]: block
        for _, _, entries in turns
        for entry in entries
        if entry["role"] == "user"
        for block in entry["content"]
        if block.get("type") == "tool_result"
    }
    reads = {
        block["input"]["path"]: results[block["id"]]
        for _, _, entries in turns
        for entry in entries
        if entry["role"] == "assistant"
        for block in entry["content"]
        if block.get("type") == "tool_use" and block["name"] == "read_file"
    }
    assert reads["empty.md"] == {
        "type": "tool_result",
        "tool_use_id": reads["empty.md"]["tool_use_id"],
        "content": EMPTY_FILE_RESULT,
    }
    assert reads["pipe.md"]["is_error"] is True
    assert reads["pipe.md"]["content"] == "error: pipe.md is not a regular file"
    assert all(result["content"] for result in results.values())


def test_a_tool_that_raises_anything_costs_a_result_not_the_batch(simulator, batch):
    class Broken(Toolbox):
        def call(self, name, args):
            if name == "path_exists":
                raise KeyError("a bug in a tool")
            return super().call(name, args)

    box = batch["toolbox"]
    batch["toolbox"] = Broken(read_root=box.read_root, repo_root=box.repo_root, output_path=box.output_path)
    outcome = agent(simulator, batch)
    assert outcome.final_message == f"Output written to {batch['out']}"
    assert "path_exists failed: KeyError" in outcome.warnings
    assert batch["out"].exists()
