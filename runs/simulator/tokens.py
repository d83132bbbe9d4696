"""Token counting for the simulator: a deterministic stand-in for the real tokenizer.

Every text payload counts ceil(characters / 4). A request is counted piece by piece (each tool definition,
each system block, each message content block) and the pieces are summed, so that the prompt-cache
accounting (cache.py), which splits a request at block boundaries, always adds up to the same total as
`count_tokens`. The real tokenizer counts differently (models.md: about 3.5 characters a token for the
current models); the point here is stable, explainable numbers, not fidelity.
"""

from __future__ import annotations

import json
import math
from typing import Any

CHARS_PER_TOKEN = 4


def compact_json(value: Any) -> str:
    """JSON without spaces, keys in their given order: what a tool input or definition "costs"."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def count_text(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def tool_result_text(content: Any) -> str:
    """The text of a tool_result's content, which may be a string or a list of content blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def block_text(block: Any) -> str:
    """The payload of one content block that counts toward tokens."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "redacted_thinking":
        return str(block.get("data", ""))
    if kind == "tool_use":
        return compact_json(block.get("input", {}))
    if kind == "tool_result":
        return tool_result_text(block.get("content"))
    # Images and documents: the simulator does not look inside them; count their JSON, minus cache_control.
    return compact_json({k: v for k, v in block.items() if k != "cache_control"})


def count_block(block: Any) -> int:
    return count_text(block_text(block))


def count_tool(tool: dict) -> int:
    """A tool definition counts as its compact JSON (without the cache_control marker)."""
    return count_text(compact_json({k: v for k, v in tool.items() if k != "cache_control"}))


def system_blocks(system: Any) -> list[dict]:
    """The system prompt as a list of text blocks (a plain string is shorthand for one block)."""
    if system is None:
        return []
    if isinstance(system, str):
        return [{"type": "text", "text": system}] if system else []
    return list(system)


def message_blocks(message: dict) -> list[Any]:
    """A message's content as a list of blocks (a plain string is shorthand for one text block)."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content or [])


def count_request(body: dict) -> int:
    """Input tokens of a whole request: the sum over its tools, system blocks and message blocks."""
    total = sum(count_tool(tool) for tool in body.get("tools") or [])
    total += sum(count_block(block) for block in system_blocks(body.get("system")))
    for message in body.get("messages") or []:
        total += sum(count_block(block) for block in message_blocks(message))
    return total


def count_output(content: list[dict]) -> int:
    """Output tokens of a response. Like the real API, even an empty answer costs at least one token."""
    return max(1, sum(count_block(block) for block in content))
