"""One agent's conversation as plain data: what the next request is, and what a response means.

No I/O here, and every field is JSON: the live loop (agent.py) streams each request as it comes, and a
batch mode can submit the requests of many conversations at once and feed the results back through
``take``, keeping the conversation in the database between turns (``as_dict`` / ``from_dict``).

Cache layout: the shared instructions are one system block with ``cache_control`` (identical for every
batch of a run, so batches after the first read them from the cache; the tool definitions come before
it in the cached prefix), and the last blocks of the two newest user messages carry breakpoints, so each
turn reads the conversation so far from the cache instead of paying for it again.
"""

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

EPHEMERAL = {"type": "ephemeral"}
CHARS_PER_TOKEN = 3.5  # specs/models.md: the current models' tokenizer, for figures the API did not give


class AgentFailed(Exception):
    """The agent could not finish; the message is the batch's failure reason."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: object


@dataclass(frozen=True)
class Next:
    """What a response asks for: ``tools`` to run, ``resume`` a paused turn, or ``final`` (done)."""

    kind: str
    calls: tuple[ToolCall, ...] = ()
    final_message: str = ""


def sendable(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assistant blocks to send back: the API sometimes answers an empty text block beside a
    tool_use, then refuses the request that echoes it ("text content blocks must be non-empty"). Only
    empty and whitespace-only text blocks go; thinking and redacted_thinking blocks are kept unchanged
    and in order, as the API requires of the turn they belong to."""
    return [b for b in blocks if not (b.get("type") == "text" and not str(b.get("text", "")).strip())]


def cache_control(ttl: str = "") -> dict[str, Any]:
    """A breakpoint: the default 5-minute TTL, or ``"1h"`` (batch mode: a turn's message batch can take
    longer than 5 minutes; https://platform.claude.com/docs/en/build-with-claude/prompt-caching, 1-hour
    cache duration)."""
    return {"type": "ephemeral", "ttl": ttl} if ttl else dict(EPHEMERAL)


def with_breakpoints(messages: list[dict[str, Any]], ttl: str = "") -> list[dict[str, Any]]:
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
        marked["content"][-1]["cache_control"] = cache_control(ttl)
        sent[i] = marked
    return sent


def text_tokens(value: object) -> int:
    """A rough token count of whatever JSON a message holds (only used where the API gave none)."""
    import json

    return round(len(json.dumps(value, ensure_ascii=False)) / CHARS_PER_TOKEN)


@dataclass
class Conversation:
    model: str
    max_tokens: int
    max_turns: int
    system: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    expected_final: str
    warnings: list[str] = field(default_factory=list)
    turns: int = 0
    writes: int = 0
    # The prompt the API last counted (input + cache writes + cache reads) and how many messages it
    # covered, so the next prompt's size is known but for what was added since.
    counted_prompt: int = 0
    counted_messages: int = 0
    sent_max_tokens: int = 0  # what the last request asked for (the context window can leave less)
    cache_ttl: str = ""  # "" (5 minutes) or "1h", on every breakpoint

    @classmethod
    def start(
        cls,
        *,
        model: str,
        max_tokens: int,
        max_turns: int,
        system: str,
        user_message: str,
        tools: list[dict[str, Any]],
        expected_final: str,
        cache_ttl: str = "",
    ) -> "Conversation":
        return cls(
            model=model,
            max_tokens=max_tokens,
            max_turns=max_turns,
            system=[{"type": "text", "text": system, "cache_control": cache_control(cache_ttl)}],
            tools=list(tools),
            messages=[{"role": "user", "content": [{"type": "text", "text": user_message}]}],
            expected_final=expected_final,
            cache_ttl=cache_ttl,
        )

    # --- the next request -----------------------------------------------------------------------------
    def request(self, *, max_tokens: int | None = None) -> dict[str, Any]:
        """The params of the next Messages API call (tool_choice stays auto and no sampling parameter
        is sent: specs/models.md, newer models refuse them)."""
        self.sent_max_tokens = max_tokens or self.max_tokens
        return {
            "model": self.model,
            "max_tokens": self.sent_max_tokens,
            "system": self.system,
            "tools": self.tools,
            "messages": with_breakpoints(self.messages, self.cache_ttl),
        }

    def prompt_estimate(self) -> int:
        """Tokens of the next request's prompt: what the API counted last time, plus an estimate of what
        was added since (the whole request's estimate before the first response)."""
        if not self.counted_messages:
            return text_tokens([self.system, self.tools, self.messages])
        added = self.messages[self.counted_messages :]
        return self.counted_prompt + (text_tokens(added) if added else 0)

    # --- a response -------------------------------------------------------------------------------------
    def take(self, message: dict[str, Any]) -> Next:
        """Take one response (the Message as JSON) and say what comes next, or raise AgentFailed."""
        self.turns += 1
        content = list(message.get("content") or [])
        usage = message.get("usage") or {}
        prompt = sum(
            int(usage.get(key) or 0)
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        kept = sendable(content)
        if self.messages[-1]["role"] == "assistant":
            # The continuation of a paused turn: both parts are one assistant turn.
            self.messages[-1] = {"role": "assistant", "content": [*self.messages[-1]["content"], *kept]}
        elif kept:
            self.messages.append({"role": "assistant", "content": kept})
        # The response's own output is counted too: it is part of the next prompt.
        self.counted_prompt = prompt + int(usage.get("output_tokens") or 0)
        self.counted_messages = len(self.messages)

        stop = message.get("stop_reason")
        if stop == "max_tokens":
            raise AgentFailed(
                f"truncated: the response hit max_tokens ({self.sent_max_tokens or self.max_tokens})"
            )
        if stop == "refusal":
            raise AgentFailed("the model refused to continue (stop_reason refusal)")
        if stop == "model_context_window_exceeded":
            raise AgentFailed(
                f"the conversation exceeded the model's context window (stop_reason {stop}, prompt of "
                f"{prompt:,} tokens)"
            )
        if stop in ("tool_use", "pause_turn"):
            if self.turns >= self.max_turns:
                raise AgentFailed(f"turn limit reached ({self.max_turns} turns) without a final message")
            if stop == "pause_turn":
                # The API paused a long turn: the conversation goes back as it is, the paused turn last.
                return Next("resume")
            calls = tuple(
                ToolCall(str(b.get("id")), str(b.get("name")), b.get("input"))
                for b in content
                if b.get("type") == "tool_use"
            )
            if not calls:
                raise AgentFailed("stop_reason tool_use without a tool_use block")
            return Next("tools", calls=calls)

        # end_turn or stop_sequence: the agent is done; the file, not this message, decides.
        final = "\n".join(str(b.get("text", "")) for b in content if b.get("type") == "text").strip()
        if final != self.expected_final:
            shown = final if len(final) <= 200 else final[:200] + "…"
            self.warnings.append(f"final message was not {self.expected_final!r} but {shown!r}")
        if self.writes == 0:
            self.warnings.append("the agent ended without calling write_file")
        return Next("final", final_message=final)

    def add_tool_results(
        self, results: list[dict[str, Any]], *, warnings: Sequence[str] = (), writes: int = 0
    ) -> dict[str, Any]:
        """Add the results of the last response's tool calls as the next user message; returns it."""
        turn = {"role": "user", "content": list(results)}
        self.messages.append(turn)
        self.warnings.extend(warnings)
        self.writes += writes
        return turn

    # --- persistence --------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Conversation":
        return cls(**data)
