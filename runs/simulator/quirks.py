"""Quirks: things the real API does that are allowed but trip careless clients. On by default; the server
option `quirks=False` (`simulator --no-quirks`) turns them off.

- An empty text block before a tool call. The real API sometimes answers `{"type": "text", "text": ""}`
  followed by a `tool_use` block, and then refuses the next request that sends that block back ("text
  content blocks must be non-empty", validation.py). The simulator does it in about one tool-use answer in
  three, chosen from a hash of the conversation's first user message and the turn's number, so the same
  conversation always gets it at the same turns.
"""

from __future__ import annotations

import hashlib

EMPTY_TEXT = {"type": "text", "text": ""}


def wants_empty_text(first_user_text: str, turn: int) -> bool:
    digest = hashlib.sha256(f"{first_user_text}\x00{turn}".encode()).digest()
    return digest[0] % 3 == 0


def with_empty_text(content: list[dict], first_user_text: str, turn: int) -> list[dict]:
    """`content` with the empty text block before its first tool_use, when this turn plays the quirk."""
    index = next((i for i, block in enumerate(content) if block.get("type") == "tool_use"), None)
    if index is None or not wants_empty_text(first_user_text, turn):
        return content
    return [*content[:index], dict(EMPTY_TEXT), *content[index:]]
