"""The live loop of one agent: stream a turn, retry what can be retried, run the tools, repeat.

We own the loop rather than use the SDK's tool runner because a batch needs checkpoints the runner does
not give: usage and transcript recorded per turn (the pages show them live), a stop between turns
(cancelled, budget reached), turn/token/time limits, retries that keep within the batch's time, and tool
calls confined to their roots. What a response means is the conversation's business
(conversation.py); this module does the I/O.

Every call is streamed (``client.messages.stream``): a non-streaming call with a large ``max_tokens``
is refused by the SDK (it estimates it could outlive its 10-minute limit), and long idle connections
are dropped on real networks. Usage is taken from the stream as it comes, so a stream that breaks after
``message_start`` still records what that event reported: the API bills it.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import anthropic

from ..paths import shown
from ..tools import Toolbox, ToolError, ToolFailed
from .conversation import AgentFailed, Conversation, Next
from .pricing import call_cost, usage_dict, worst_case_cost
from .retries import ApiFailure, RetryPolicy, StreamBroken, classify

# Near the context window the rough prompt estimate is not enough: the API counts the prompt first.
CONTEXT_MARGIN = 0.9
MIN_OUTPUT_TOKENS = 1024
WAIT_SLICE_S = 2.0  # a long retry wait is cut in slices, so a cancelled run stops during it


@dataclass(frozen=True)
class Limits:
    max_turns: int
    max_output_tokens: int
    time_limit_s: float
    max_retries: int = 4


class AgentStopped(Exception):
    """The engine stopped the agent before its next turn (cancelled, budget reached...)."""


class AgentCancelled(AgentStopped):
    """The run was cancelled; the agent stopped before its next turn."""


class Hooks(Protocol):
    def before_turn(self, worst_case_cost: Decimal) -> None:
        """Raise AgentStopped to stop before a turn that could cost up to ``worst_case_cost``."""

    def record(self, entries: list[dict[str, Any]], usage: dict[str, Any], cost: Decimal) -> None:
        """Append transcript entries and add usage and cost to the batch."""


@dataclass
class Outcome:
    final_message: str
    warnings: list[str] = field(default_factory=list)
    turns: int = 0


@dataclass(frozen=True)
class ModelLimits:
    """What the price table says of the model (None: not known, nothing checked before the call)."""

    context_window: int | None = None
    max_output: int | None = None

    @classmethod
    def of(cls, prices: dict[str, Any]) -> "ModelLimits":
        return cls(prices.get("context") or None, prices.get("max_output") or None)


class AttemptFailed(Exception):
    def __init__(self, failure: ApiFailure, usage: dict[str, Any], seconds: float):
        super().__init__(failure.describe())
        self.failure, self.usage, self.seconds = failure, usage, seconds


def run_agent(
    client: anthropic.Anthropic,
    conversation: Conversation,
    toolbox: Toolbox,
    *,
    limits: Limits,
    prices: dict[str, Any],
    hooks: Hooks,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Run the conversation to its final message, or raise AgentFailed / AgentStopped."""
    deadline = clock() + limits.time_limit_s
    policy = RetryPolicy(limits.max_retries, limits.time_limit_s, rng)
    model = ModelLimits.of(prices)
    if model.max_output:
        conversation.max_tokens = min(conversation.max_tokens, model.max_output)
    pending = [
        {"role": "system", "text": conversation.system[0]["text"]},
        {"role": "user", "content": conversation.messages[0]["content"]},
    ]

    while True:
        try:
            max_tokens = _fit_context(client, conversation, model)
            worst = worst_case_cost(prices, conversation.prompt_estimate(), max_tokens)
            hooks.before_turn(worst)
        except (AgentFailed, AgentStopped):
            _flush(hooks, pending)
            raise
        request = conversation.request(max_tokens=max_tokens)
        message, usage, seconds = _turn_with_retries(
            client, request, policy, deadline, clock, sleep, hooks, prices, pending, worst
        )
        assistant = {
            "role": "assistant",
            "content": message["content"],
            "stop_reason": message.get("stop_reason"),
            "usage": usage,
            "seconds": round(seconds, 3),
        }
        # Recorded before any tool runs, so that what was spent is kept even if the batch fails after.
        hooks.record([*pending, assistant], usage, call_cost(prices, usage))
        pending.clear()
        step = conversation.take(message)
        if step.kind == "final":
            return Outcome(step.final_message, conversation.warnings, conversation.turns)
        if step.kind == "tools":
            # The results go with the next record (one write a turn): the request that carries them.
            turn = run_tools(toolbox, conversation, step)
            pending.append({"role": "user", "content": turn["content"]})


def _flush(hooks: Hooks, pending: list[dict[str, Any]]) -> None:
    if pending:
        hooks.record(list(pending), {}, Decimal(0))
        pending.clear()


def _fit_context(client: anthropic.Anthropic, conversation: Conversation, model: ModelLimits) -> int:
    """max_tokens for the next call, within the model's context window; AgentFailed when the prompt
    itself cannot fit, with the figures (before the call, so nothing is paid for a refusal)."""
    max_tokens = conversation.max_tokens
    window = model.context_window
    if not window:
        return max_tokens
    prompt = conversation.prompt_estimate()
    if prompt + max_tokens > CONTEXT_MARGIN * window:
        prompt = _counted(client, conversation) or prompt
    if prompt > window:
        raise AgentFailed(
            f"the prompt ({prompt:,} tokens) does not fit {conversation.model}'s context window "
            f"({window:,} tokens)"
        )
    room = window - prompt
    if room < min(max_tokens, MIN_OUTPUT_TOKENS):
        raise AgentFailed(
            f"the prompt ({prompt:,} tokens) leaves {room:,} tokens of {conversation.model}'s context "
            f"window ({window:,} tokens) for the answer"
        )
    return min(max_tokens, room)


def _counted(client: anthropic.Anthropic, conversation: Conversation) -> int | None:
    """The prompt as the API counts it (count_tokens is free); None when the count itself fails."""
    params = conversation.request()
    try:
        counted = client.messages.count_tokens(
            model=params["model"], system=params["system"], tools=params["tools"], messages=params["messages"]
        )
    except Exception as exc:
        if classify(exc) is None:
            raise
        return None
    return int(counted.input_tokens)


def _turn_with_retries(
    client: anthropic.Anthropic,
    request: dict[str, Any],
    policy: RetryPolicy,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    hooks: Hooks,
    prices: dict[str, Any],
    pending: list[dict[str, Any]],
    worst: Decimal,
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The response to ``request``, after as many retries as the policy allows. Failed attempts are
    recorded as they happen, each with what it was billed; ``pending`` (entries not recorded yet) goes
    with the first record made. Each retry is a turn's worth of spend (a broken stream is billed its
    prompt), so it passes the budget check with the turn's ``worst`` case first, as the turn did."""
    retry = 0
    while True:
        left = deadline - clock()
        if left <= 0:
            _flush(hooks, pending)
            raise AgentFailed(f"time limit reached ({policy.time_limit_s:.0f} s)")
        try:
            return _stream_turn(client, request, left, deadline, clock)
        except AttemptFailed as failed:
            cost = call_cost(prices, failed.usage)
            try:
                wait = policy.wait_before_retry(failed.failure, retry, deadline - clock())
            except AgentFailed as exc:
                hooks.record([*pending, _error_entry(failed, retry, None, str(exc))], failed.usage, cost)
                pending.clear()
                raise
            hooks.record([*pending, _error_entry(failed, retry, wait, None)], failed.usage, cost)
            pending.clear()
            _wait(wait, sleep, hooks)
            hooks.before_turn(worst)
            retry += 1


def _wait(seconds: float, sleep: Callable[[float], None], hooks: Hooks) -> None:
    remaining = seconds
    while remaining > 0:
        step = min(WAIT_SLICE_S, remaining)
        sleep(step)
        remaining -= step
        hooks.before_turn(Decimal(0))  # a stop (cancelled...) is honoured during a long wait


def _error_entry(failed: AttemptFailed, retry: int, wait: float | None, reason: str | None) -> dict[str, Any]:
    failure = failed.failure
    if reason is None:
        text = f"{failure.describe()}; retry {retry + 1} in {wait:.1f} s"
        if failure.asked_wait_s is not None:
            text += " (as the API asked)"
    else:
        text = reason
    entry: dict[str, object] = {
        "role": "error",
        "text": text,
        "status": failure.status,
        "error_type": failure.error_type,
        "message": failure.message,
        "attempt": retry + 1,
        "wait_s": None if wait is None else round(wait, 3),
        "seconds": round(failed.seconds, 3),
    }
    if any(failed.usage.values()):
        entry["usage"] = failed.usage
    return entry


def _stream_turn(
    client: anthropic.Anthropic,
    params: dict[str, Any],
    left: float,
    deadline: float,
    clock: Callable[[], float],
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """One streamed call: the final message as JSON, its usage and its seconds; AttemptFailed otherwise
    (with what message_start reported, which is billed even if the stream then breaks)."""
    started = clock()
    usage: dict[str, Any] = {}
    stream = None
    try:
        with client.messages.stream(**params, timeout=left) as stream:
            stopped = False
            for event in stream:
                if event.type == "message_start":
                    usage = usage_dict(event.message.usage)
                elif event.type == "message_delta" and event.usage is not None:
                    usage["output_tokens"] = int(event.usage.output_tokens or 0)
                elif event.type == "message_stop":
                    stopped = True
                if clock() > deadline:
                    raise StreamBroken("the batch's time ran out while the response was streaming")
            if not stopped:
                raise StreamBroken("the stream ended before message_stop")
            final = stream.get_final_message()
    except Exception as exc:
        failure = classify(exc)
        if failure is None and isinstance(exc, (ValueError, RuntimeError)) and stream is not None:
            # The SDK could not rebuild the message from the events (tool input JSON cut short...).
            failure = classify(StreamBroken(f"{type(exc).__name__}: {exc}"))
        if failure is None:
            raise
        raise AttemptFailed(failure, usage, clock() - started) from None
    message = final.model_dump(mode="json", exclude_none=True)
    return message, usage_dict(final.usage), clock() - started


def run_tools(toolbox: Toolbox, conversation: Conversation, step: Next) -> dict[str, Any]:
    """Run a response's tool calls (live or batch mode) and add their results as the next user turn."""
    results, warnings, writes = [], [], 0
    for call in step.calls:
        result, warning = run_tool(toolbox, call.id, call.name, call.input)
        results.append(result)
        if warning:
            warnings.append(warning)
        elif call.name == "write_file":
            writes += 1
    return conversation.add_tool_results(results, warnings=warnings, writes=writes)


def run_tool(
    toolbox: Toolbox, tool_use_id: str, name: str, args: object
) -> tuple[dict[str, Any], str | None]:
    """One tool call as its tool_result and a protocol warning (None when it worked): whatever happens,
    a result with text, never an exception (a tool that met an odd file costs the agent a turn, not
    the batch its work)."""
    label = shown(name)
    try:
        text = toolbox.call(name, args) or "(no output)"
        return {"type": "tool_result", "tool_use_id": tool_use_id, "content": text}, None
    except ToolFailed as exc:
        warning, message = f"tool error: {exc}", str(exc)
    except ToolError as exc:
        warning, message = f"refused {label}: {exc}", str(exc)
    except Exception as exc:  # a tool's bug must not end the batch either
        warning = message = f"{label} failed: {type(exc).__name__}"
    result = {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": f"error: {message}",
        "is_error": True,
    }
    return result, warning
