"""A message as the server-sent events of a streamed response (`"stream": true`).

The sequence is the one https://platform.claude.com/docs/en/build-with-claude/streaming describes and the
SDK's accumulator (anthropic/lib/streaming/_messages.py, accumulate_event) rebuilds a message from:

- `message_start`: the message with empty content, no stop reason, and the usage known up front (input and
  cache tokens; output_tokens 1);
- `ping`;
- per content block: `content_block_start` (the block, empty), `content_block_delta`s (`text_delta`,
  `thinking_delta` then `signature_delta`, `input_json_delta` carrying the tool input's JSON in several
  pieces), `content_block_stop`;
- `message_delta`: stop_reason, stop_sequence, stop_details, and the usage, cumulative (output_tokens and
  the input and cache counts again);
- `message_stop`.

An error after the stream has started is an `error` event (`error_event`).
"""

from __future__ import annotations

import json
from typing import Any

from . import tokens

# Characters per delta: small enough that a tool input arrives in several pieces, as from the real API.
DELTA_CHARS = 96


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _pieces(text: str) -> list[str]:
    return [text[i : i + DELTA_CHARS] for i in range(0, len(text), DELTA_CHARS)]


def _block_events(index: int, block: dict) -> list[bytes]:
    kind = block["type"]
    if kind == "text":
        empty: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
    elif kind == "thinking":
        empty = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:  # tool_use
        empty = {**block, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in _pieces(tokens.compact_json(block["input"]))
        ]
    out = [
        sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})
    ]
    out += [
        sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        for delta in deltas
    ]
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


def stream_events(message: dict) -> list[bytes]:
    """Every event of the streamed message, in order."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "stop_details": None}
    start["usage"] = {**usage, "output_tokens": 1}
    out = [sse("message_start", {"type": "message_start", "message": start}), sse("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        out += _block_events(index, block)
    delta = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
        "stop_details": message["stop_details"],
    }
    final_usage = {
        "output_tokens": usage["output_tokens"],
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
    }
    out.append(sse("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return out


def error_event(error_type: str, message: str) -> bytes:
    return sse("error", {"type": "error", "error": {"type": error_type, "message": message}})
