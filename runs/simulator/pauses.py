"""Paused turns: what the simulator still owes a conversation it answered with stop_reason `pause_turn`.

https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons: on `pause_turn`, "send the
assistant content back to continue": the conversation comes back with the paused assistant turn last,
unchanged, nothing appended. The simulator keeps the rest of the turn it paused, keyed by the conversation
and the paused content, and answers such a request with it. A client that merges the continuation into
the paused turn (one assistant message holding both) carries on as usual.

Unlike the misbehaviours, a pause lives in the server: it lasts seconds, and its key is the whole
conversation, so no other conversation can pick it up.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

MAX_PAUSES = 10_000


def _canonical_block(block: Any) -> Any:
    if isinstance(block, str):
        return {"type": "text", "text": block}
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control" and v is not None}
    return block


def _canonical_content(content: Any) -> list:
    if isinstance(content, str):
        return [_canonical_block(content)]
    return [_canonical_block(block) for block in content or []]


def key(model: str, messages_before: list, content: Any) -> str:
    """The identity of an assistant turn `content` that followed `messages_before` in a conversation with
    `model`. Breakpoints (cache_control) move from turn to turn, so they are not part of it."""
    payload = {
        "model": model,
        "before": [
            {"role": m.get("role"), "content": _canonical_content(m.get("content"))} for m in messages_before
        ],
        "turn": _canonical_content(content),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class PauseBook:
    """Thread-safe: paused turn key -> the answer that continues it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rests: OrderedDict[str, dict] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rests)

    def remember(self, turn_key: str, rest: dict) -> None:
        with self._lock:
            self._rests[turn_key] = rest
            while len(self._rests) > MAX_PAUSES:
                self._rests.popitem(last=False)

    def rest(self, turn_key: str) -> dict | None:
        with self._lock:
            return self._rests.get(turn_key)

    def paused(self, model: str):
        """The `paused(messages_before, content)` test validation.py takes, for one model."""

        def is_paused(messages_before: list, content: list) -> bool:
            if not self._rests:
                return False
            return self.rest(key(model, messages_before, content)) is not None

        return is_paused
