"""Our own tool-use loop on the anthropic SDK.

We own the loop rather than use the SDK's tool runner because a batch needs checkpoints the runner does
not give: usage and transcript recorded per turn (the pages show them live), cancellation between turns,
turn/token/time limits, and tool calls confined to their roots.

Cache layout: the shared instructions are one system block with ``cache_control`` (identical for every
batch of a run, so batches after the first read them from the cache), and the last blocks of the two
newest user messages carry breakpoints, so each turn reads the conversation so far from the cache
instead of paying for it again.
"""

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import anthropic

from .executors import call_cost
from .tools import Toolbox, ToolError, ToolFailed, shown

EPHEMERAL = {"type": "ephemeral"}


@dataclass(frozen=True)
class Limits:
    max_turns: int
    max_output_tokens: int
    time_limit_s: float


class AgentFailed(Exception):
    """The agent could not finish; the message is the batch's failure reason."""


class AgentCancelled(Exception):
    """The run was cancelled; the agent stopped before its next turn."""


@dataclass
class Outcome:
    final_message: str
    warnings: list[str] = field(default_factory=list)
    turns: int = 0


def usage_dict(usage) -> dict:
    return {
        "input_tokens": usage.input_tokens or 0,
        "output_tokens": usage.output_tokens or 0,
        "cache_write_tokens": usage.cache_creation_input_tokens or 0,
        "cache_read_tokens": usage.cache_read_input_tokens or 0,
    }


def block_params(content) -> list[dict]:
    """Response blocks as request params, unchanged and in order (thinking blocks keep their signature)."""
    return [block.model_dump(mode="json", exclude_none=True) for block in content]


def sendable(blocks: list[dict]) -> list[dict]:
    """The assistant blocks to send back: the API sometimes answers an empty text block beside a
    tool_use, then refuses the request that echoes it ("text content blocks must be non-empty"). Only
    empty and whitespace-only text blocks go; thinking and redacted_thinking blocks are kept unchanged
    and in order, as the API requires of the turn they belong to."""
    return [b for b in blocks if not (b.get("type") == "text" and not str(b.get("text", "")).strip())]


def with_breakpoint(messages: list[dict]) -> list[dict]:
    """The messages to send, with cache breakpoints on the last block of the two newest user messages.

    The newest one caches this turn for the next; the one before it is where the previous turn's cache
    entry ends, which the API only finds by itself when it lies within 20 blocks of a breakpoint (a
    turn of 40 parallel tool results is further back than that).
    """
    sent = list(messages)
    user_turns = [i for i, message in enumerate(sent) if message["role"] == "user"][-2:]
    for i in user_turns:
        marked = copy.deepcopy(sent[i])
        if isinstance(marked["content"], str):
            marked["content"] = [{"type": "text", "text": marked["content"]}]
        marked["content"][-1]["cache_control"] = EPHEMERAL
        sent[i] = marked
    return sent


def describe_api_error(exc: Exception) -> str:
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
        kind = error.get("type", "error")
        message = error.get("message") or str(exc)
        return f"API error {exc.status_code} {kind}: {message}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "API request timed out"
    if isinstance(exc, anthropic.APIConnectionError):
        return "could not reach the API (connection failed)"
    return f"API call failed: {exc}"


def run_agent(
    client,
    *,
    model_id: str,
    system: str,
    user_message: str,
    toolbox: Toolbox,
    limits: Limits,
    prices: dict,
    expected_final: str,
    on_turn: Callable[[dict, Decimal, list[dict]], None],
    cancelled: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Run one agent to its final message, or raise AgentFailed / AgentCancelled.

    ``on_turn(usage, cost, transcript_entries)`` is called after every API call, before any tool runs,
    so that what was spent is recorded even if the batch fails afterwards.
    """
    deadline = time.monotonic() + limits.time_limit_s
    system_blocks = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": user_message}]}]
    pending_entries: list[dict] = [
        {"role": "system", "text": system},
        {"role": "user", "content": messages[0]["content"]},
    ]
    warnings: list[str] = []

    for turn in range(1, limits.max_turns + 1):
        if cancelled():
            raise AgentCancelled("cancelled")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AgentFailed(f"time limit reached ({limits.time_limit_s:.0f} s) after {turn - 1} turns")
        started = time.monotonic()
        try:
            response = client.messages.create(
                model=model_id,
                max_tokens=limits.max_output_tokens,
                system=system_blocks,
                tools=toolbox.schemas,
                messages=with_breakpoint(messages),
                timeout=remaining,
            )
        except anthropic.APIError as exc:
            on_turn({}, Decimal(0), [*pending_entries, {"role": "error", "text": describe_api_error(exc)}])
            raise AgentFailed(describe_api_error(exc)) from None

        usage = usage_dict(response.usage)
        content = block_params(response.content)
        pending_entries.append(
            {
                "role": "assistant",
                "content": content,
                "stop_reason": response.stop_reason,
                "usage": usage,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        on_turn(usage, call_cost(prices, usage), pending_entries)
        pending_entries = []
        messages.append({"role": "assistant", "content": sendable(content)})

        stop = response.stop_reason
        if stop == "max_tokens":
            raise AgentFailed(f"truncated: the response hit max_tokens ({limits.max_output_tokens})")
        if stop == "refusal":
            raise AgentFailed("the model refused to continue (stop_reason refusal)")
        if stop == "model_context_window_exceeded":
            raise AgentFailed("the conversation exceeded the model's context window")
        if stop == "pause_turn":
            continue  # the API paused a long turn: send the conversation back as is to resume it
        if stop == "tool_use":
            results = []
            for block in response.content:
                if block.type != "tool_use":
                    continue
                results.append(_run_tool(toolbox, block, warnings))
            user_turn = {"role": "user", "content": results}
            messages.append(user_turn)
            pending_entries.append({"role": "user", "content": results})
            continue

        # end_turn or stop_sequence: the agent is done; the file, not this message, decides.
        final = "\n".join(b.text for b in response.content if b.type == "text").strip()
        if final != expected_final:
            shown = final if len(final) <= 200 else final[:200] + "…"
            warnings.append(f"final message was not {expected_final!r} but {shown!r}")
        if toolbox.writes == 0:
            warnings.append("the agent ended without calling write_file")
        return Outcome(final_message=final, warnings=warnings, turns=turn)

    raise AgentFailed(f"turn limit reached ({limits.max_turns} turns) without a final message")


def _run_tool(toolbox: Toolbox, block, warnings: list[str]) -> dict:
    """One tool call as its tool_result: whatever happens, a result with text, never an exception (a
    tool that met an odd file costs the agent a turn, not the batch its work)."""
    name = shown(block.name)
    try:
        text = toolbox.call(block.name, block.input) or "(no output)"
        return {"type": "tool_result", "tool_use_id": block.id, "content": text}
    except ToolFailed as exc:
        warnings.append(f"tool error: {exc}")
        message = str(exc)
    except ToolError as exc:
        warnings.append(f"refused {name}: {exc}")
        message = str(exc)
    except Exception as exc:  # a tool's bug must not end the batch either
        warnings.append(f"{name} failed: {type(exc).__name__}")
        message = f"{name} failed: {type(exc).__name__}"
    return {"type": "tool_result", "tool_use_id": block.id, "content": f"error: {message}", "is_error": True}
