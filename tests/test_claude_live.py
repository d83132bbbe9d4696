"""The live loop through the real SDK, over HTTP, against the simulator (behind a recording proxy where
a test needs to see what was sent, or a network that breaks)."""

import random
import time
from decimal import Decimal

import anthropic
import pytest
from django.conf import settings

from runs.claude.agent import Limits, run_agent
from runs.claude.conversation import AgentFailed, Conversation
from runs.claude.pricing import call_cost
from runs.operations.audit_scan import prompts
from runs.operations.base import final_message

from .agent_fixtures import RecordingHooks, audit_batch

LIMITS = Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=60, max_retries=4)


@pytest.fixture
def batch(repo, tmp_path):
    return audit_batch(repo, tmp_path)


def run(url, batch, *, limits=LIMITS, prices=None, hooks=None, rng=None, model="claude-haiku-5-5"):
    hooks = hooks or RecordingHooks()
    conversation = Conversation.start(
        model=model,
        max_tokens=limits.max_output_tokens,
        max_turns=limits.max_turns,
        system=prompts.SYSTEM_PROMPT,
        user_message=batch["message"],
        tools=batch["toolbox"].schemas,
        expected_final=final_message(str(batch["out"])),
    )
    outcome = run_agent(
        anthropic.Anthropic(api_key="test-key", base_url=url, max_retries=0),
        conversation,
        batch["toolbox"],
        limits=limits,
        prices=settings.ERKWEB_MODELS["haiku"] if prices is None else prices,
        hooks=hooks,
        rng=rng or random.Random(7),
    )
    return outcome, hooks


def test_every_call_is_streamed_and_the_sdk_retries_nothing(proxy, batch):
    """Streaming: https://platform.claude.com/docs/en/build-with-claude/streaming. The SDK refuses a
    non-streaming call it expects to outlive 10 minutes (anthropic/_base_client.py, the expected-time
    check), which max_tokens 32,000 is."""
    outcome, hooks = run(proxy.url, batch)
    assert outcome.turns == 4 and batch["out"].read_text() == batch["expected"]
    sent = proxy.state.messages()
    assert len(sent) == 4
    assert all(seen.body["stream"] is True for seen in sent)
    assert all(seen.headers.get("x-stainless-retry-count") in (None, "0") for seen in sent)
    # The usage recorded per turn is what the stream reported, and the cost is priced from it.
    for usage, cost in [(u, c) for entries, u, c in hooks.records if u]:
        assert cost == call_cost(settings.ERKWEB_MODELS["haiku"], usage)


def test_max_tokens_is_capped_at_the_models_max_output(proxy, batch):
    """max_tokens above a model's max output is refused by the API
    (https://platform.claude.com/docs/en/about-claude/models/overview: max output per model)."""
    prices = {**settings.ERKWEB_MODELS["haiku"], "max_output": 20_000}
    run(proxy.url, batch, prices=prices)
    assert {seen.body["max_tokens"] for seen in proxy.state.messages()} == {20_000}


def test_a_prompt_that_cannot_fit_the_context_window_fails_before_the_call(proxy, batch):
    prices = {**settings.ERKWEB_MODELS["haiku"], "context": 1_500}
    with pytest.raises(AgentFailed) as failed:
        run(proxy.url, batch, prices=prices)
    reason = str(failed.value)
    assert "does not fit claude-haiku-5-5's context window (1,500 tokens)" in reason
    prompt = int(reason.split("the prompt (")[1].split(" tokens")[0].replace(",", ""))
    # The figure is the endpoint's own count of the first request.
    counted = anthropic.Anthropic(api_key="k", base_url=proxy.url).messages.count_tokens(
        **{k: v for k, v in proxy.state.seen[0].body.items()}
    )
    assert prompt == counted.input_tokens > 1_500
    # It asked count_tokens (free) for the exact figure, and sent no Messages request at all.
    assert proxy.state.messages() == []
    assert [seen.path for seen in proxy.state.seen] == ["/v1/messages/count_tokens"] * 2


def test_max_tokens_shrinks_to_what_the_context_window_leaves(proxy, batch):
    prices = {**settings.ERKWEB_MODELS["haiku"], "context": 33_000}
    run(proxy.url, batch, prices=prices)
    sent = [seen.body["max_tokens"] for seen in proxy.state.messages()]
    assert len(sent) == 4 and all(25_000 < max_tokens < 32_000 for max_tokens in sent)
    assert sent == sorted(sent, reverse=True), "the longer the conversation, the less room is left"


def test_a_stream_that_breaks_after_message_start_is_billed_and_retried(proxy, batch):
    """The API bills a request once its message_start went out; the loop records that usage, then
    retries the turn."""
    proxy.state.breaks_left = 1
    outcome, hooks = run(proxy.url, batch)
    assert outcome.turns == 4 and batch["out"].read_text() == batch["expected"]
    errors = hooks.entries("error")
    assert len(errors) == 1 and errors[0]["error_type"] == "broken_stream"
    # What message_start reported for the first turn: its whole prompt, written to the cache.
    broken_usage = errors[0]["usage"]
    assert broken_usage["cache_write_tokens"] + broken_usage["input_tokens"] > 1_000
    assert hooks.records[0][1] == broken_usage and hooks.records[0][2] > 0
    assert len(proxy.state.messages()) == 5


def test_overloaded_is_retried_with_full_jitter(simulator, batch):
    simulator.set_rules([{"behaviour": "overloaded", "times": 2}])
    started = time.monotonic()
    outcome, hooks = run(simulator.url, batch, rng=random.Random(3))
    assert outcome.turns == 4
    errors = hooks.entries("error")
    assert [e["status"] for e in errors] == [529, 529] and [e["attempt"] for e in errors] == [1, 2]
    # Full jitter: anywhere from 0 to 0.5 s before the first retry, 0 to 1 s before the second.
    assert 0 <= errors[0]["wait_s"] <= 0.5 and 0 <= errors[1]["wait_s"] <= 1.0
    expected = random.Random(3)
    assert errors[0]["wait_s"] == round(expected.uniform(0, 0.5), 3)
    assert errors[1]["wait_s"] == round(expected.uniform(0, 1.0), 3)
    assert time.monotonic() - started >= errors[0]["wait_s"] + errors[1]["wait_s"]


def test_retries_are_capped(simulator, batch):
    simulator.set_rules([{"behaviour": "server-error"}])
    limits = Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=60, max_retries=2)
    hooks = RecordingHooks()
    with pytest.raises(AgentFailed, match=r"^API error 500 api_error: .* \(after 2 retries\)$"):
        run(simulator.url, batch, limits=limits, hooks=hooks)
    errors = hooks.entries("error")
    assert len(errors) == 3
    assert errors[-1]["text"].startswith("API error 500 api_error") and errors[-1]["wait_s"] is None


def test_a_dropped_connection_is_retried(simulator, batch):
    simulator.set_rules([{"behaviour": "drop-connection", "times": 1}])
    outcome, hooks = run(simulator.url, batch)
    assert outcome.turns == 4
    assert [e["error_type"] for e in hooks.entries("error")] == ["connection_error"]


def test_a_rate_limit_wait_longer_than_the_time_left_fails_at_once(simulator, batch):
    """The simulator's 429 asks for retry-after: 1; with 0.6 s left there is no point waiting."""
    simulator.set_rules([{"behaviour": "rate-limit"}])
    limits = Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=0.9, max_retries=4)
    started = time.monotonic()
    with pytest.raises(AgentFailed) as failed:
        run(simulator.url, batch, limits=limits)
    assert time.monotonic() - started < 0.9
    assert str(failed.value).startswith(
        "rate limited (429 rate_limit_error): the API asked to wait 1 s, more than the"
    )
    assert str(failed.value).endswith("s left of the batch's 1 s limit")


def test_the_worst_case_of_each_turn_is_offered_before_it(proxy, batch):
    _, hooks = run(proxy.url, batch)
    haiku = settings.ERKWEB_MODELS["haiku"]
    assert len(hooks.worst) == 4 and all(w > 0 for w in hooks.worst)
    # It bounds what each turn cost.
    turn_costs = [
        cost for entries, usage, cost in hooks.records if any(e["role"] == "assistant" for e in entries)
    ]
    assert all(cost <= worst for cost, worst in zip(turn_costs, hooks.worst, strict=True))
    assert hooks.worst[0] >= Decimal(32_000) * Decimal(str(haiku["output"])) / 1_000_000


def test_a_stop_is_honoured_while_waiting_to_retry(simulator, batch):
    """A cancelled run does not wait out a long retry-after: the wait is cut in slices, each followed by
    the hook's stop check."""
    from runs.claude.agent import AgentCancelled

    simulator.set_rules([{"behaviour": "rate-limit"}])

    class CancelDuringWait(RecordingHooks):
        def before_turn(self, worst_case_cost):
            super().before_turn(worst_case_cost)
            if len(self.worst) > 1:  # the check made during the wait
                raise AgentCancelled("cancelled")

    hooks = CancelDuringWait()
    with pytest.raises(AgentCancelled):
        run(simulator.url, batch, hooks=hooks)
    assert hooks.worst[1] == 0 and len(hooks.entries("error")) == 1
