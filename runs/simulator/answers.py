"""The model's answer to one request, finished the way the API finishes it: thinking blocks only when
thinking is on, stop sequences, max_tokens, signatures; and the answer faults that change it (a paused
turn, a context window filled).
"""

from __future__ import annotations

from . import tokens
from .players import Conversation, Turn
from .validation import sign_thinking


def _cut_tool_use(block: dict, budget_tokens: int) -> dict | None:
    """A tool_use block cut to fit `budget_tokens` by shortening its longest string input (what a
    response cut off mid-call looks like), or None when even that does not fit."""
    tool_input = dict(block.get("input") or {})
    strings = [key for key, value in tool_input.items() if isinstance(value, str)]
    if not strings:
        return None
    key = max(strings, key=lambda k: len(tool_input[k]))
    full = tool_input[key]
    tool_input[key] = ""
    room = budget_tokens * tokens.CHARS_PER_TOKEN - len(tokens.compact_json(tool_input))
    while room > 0:
        tool_input[key] = full[:room]
        if tokens.count_text(tokens.compact_json(tool_input)) <= budget_tokens:
            return {**block, "input": tool_input}
        room -= max(1, len(tokens.compact_json(tool_input)) - budget_tokens * tokens.CHARS_PER_TOKEN)
    return None


def _fit(content: list[dict], budget: int) -> tuple[list[dict], bool]:
    """The blocks that fit in `budget` output tokens, the one that crosses it cut short; and whether
    anything was cut."""
    kept: list[dict] = []
    used = 0
    for block in content:
        cost = tokens.count_block(block)
        if used + cost <= budget:
            kept.append(block)
            used += cost
            continue
        room = budget - used
        if room > 0:
            kind = block.get("type")
            if kind in ("text", "thinking"):
                key = "text" if kind == "text" else "thinking"
                kept.append({**block, key: block[key][: room * tokens.CHARS_PER_TOKEN]})
            elif kind == "tool_use":
                cut = _cut_tool_use(block, room)
                if cut is not None:
                    kept.append(cut)
        return kept, True
    return kept, False


def _apply_stop_sequences(content: list[dict], stop_sequences: list[str]) -> tuple[list[dict], str | None]:
    for i, block in enumerate(content):
        if block.get("type") != "text":
            continue
        hits = [(block["text"].find(s), s) for s in stop_sequences if s and s in block["text"]]
        if hits:
            position, sequence = min(hits)
            return [*content[:i], {**block, "text": block["text"][:position]}], sequence
    return content, None


def finish_turn(turn: Turn, conversation: Conversation, behaviour: str | None) -> dict:
    """Thinking off -> no thinking blocks; stop sequences; max_tokens; signatures. Returns the message
    fields content, stop_reason, stop_sequence, stop_details."""
    content = [dict(block) for block in turn.content]
    if not conversation.thinking:
        content = [block for block in content if block.get("type") != "thinking"]
    stop_reason, stop_sequence, stop_details = turn.stop_reason, None, turn.stop_details

    content, sequence = _apply_stop_sequences(content, conversation.body.get("stop_sequences") or [])
    if sequence is not None:
        stop_reason, stop_sequence, stop_details = "stop_sequence", sequence, None

    budget = conversation.max_tokens
    if turn.truncate_at is not None:
        budget = min(budget, turn.truncate_at)
    content, cut = _fit(content, budget)
    if cut or turn.truncate_at is not None:
        stop_reason, stop_sequence, stop_details = "max_tokens", None, None
    # A response cut before anything useful still has to be a valid assistant message when sent back.
    content = [b for b in content if not (b.get("type") == "text" and not b["text"].strip())]

    for block in content:
        if block.get("type") == "thinking":
            block["signature"] = sign_thinking(block["thinking"], behaviour)
    return {
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "stop_details": stop_details,
    }


def context_exceeded(answer: dict) -> dict:
    """The answer cut at half its output, stopped with model_context_window_exceeded (the `context-exceeded`
    rule: https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons, "the response filled
    the model's context window")."""
    budget = max(1, tokens.count_output(answer["content"]) // 2)
    content, _cut = _fit(answer["content"], budget)
    content = [b for b in content if not (b.get("type") == "text" and not b["text"].strip())]
    return {
        **answer,
        "content": content,
        "stop_reason": "model_context_window_exceeded",
        "stop_sequence": None,
        "stop_details": None,
    }


def split_for_pause(answer: dict) -> tuple[dict, dict] | None:
    """(the paused answer, the rest that continues it), or None when this answer cannot pause: a pause
    comes before the first tool call, so it needs something said before it (a thinking or text block) and
    something left after."""
    content = answer["content"]
    lead = 0
    while lead < len(content) and content[lead].get("type") != "tool_use":
        lead += 1
    lead = min(lead, len(content) - 1)
    if lead < 1:
        return None
    paused = {**answer, "content": content[:lead], "stop_reason": "pause_turn", "stop_sequence": None}
    paused["stop_details"] = None
    return paused, {**answer, "content": content[lead:]}
