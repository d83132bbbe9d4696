"""The simulator's HTTP server: the Messages API on loopback, for runs without an API key.

Endpoints:
- POST /v1/messages                 validate, apply fault rules, let a player answer, count usage
- POST /v1/messages/count_tokens    {"input_tokens": n}
- GET  /_simulator/health           {"simulator": "erkweb", "version": 1, "latency_ms": ...}
- GET/POST/DELETE /_simulator/rules list / replace-or-add / clear the fault rules (faults.py)

Every response carries a `request-id` header and `erkweb-simulator: 1`. The x-api-key header is checked
for presence only, never logged or echoed.

`start_simulator()` runs it in a background thread for tests and the benchmark; the `simulator` management
command runs it in the foreground. The server is a ThreadingHTTPServer: a slow answer (latency, a "slow"
rule) holds only its own connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import secrets
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import tokens
from .cache import PromptCache
from .faults import RuleBook
from .players import Conversation, Turn, behaviour_of, find_player, players
from .validation import (
    SimulatorError,
    check_headers,
    error_body,
    invalid,
    sign_thinking,
    validate_count_tokens_request,
    validate_messages_request,
)

log = logging.getLogger("runs.simulator")

SIMULATOR_NAME = "erkweb"
SIMULATOR_VERSION = 1
MAX_BODY_BYTES = 64 * 1024 * 1024


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, latency_ms: int = 0, rules: Any = ()) -> None:
        self.rules = RuleBook(rules)
        self.cache = PromptCache()
        self.latency_ms = int(latency_ms)
        super().__init__(address, SimulatorHandler)


class SimulatorServer6(SimulatorServer):
    address_family = socket.AF_INET6


def make_server(
    host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, rules: Any = ()
) -> SimulatorServer:
    server_class = SimulatorServer6 if ":" in host else SimulatorServer
    return server_class((host, port), latency_ms=latency_ms, rules=rules)


def server_url(server: SimulatorServer) -> str:
    host, port = server.server_address[:2]
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}"


class SimulatorHandle:
    """A simulator running in a background thread. Use as a context manager, or call stop()."""

    def __init__(self, server: SimulatorServer, thread: threading.Thread) -> None:
        self.server = server
        self._thread = thread
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])
        self.url = server_url(server)

    @property
    def rules(self) -> list[dict]:
        return self.server.rules.as_list()

    @property
    def cache(self) -> PromptCache:
        return self.server.cache

    def set_rules(self, rules: Any = ()) -> None:
        """Replace the fault rules (dicts, faults.Rule objects or `BEHAVIOUR[:key=value,...]` strings)."""
        self.server.rules.replace(rules)

    def add_rules(self, rules: Any) -> None:
        self.server.rules.add(rules)

    def clear_rules(self) -> None:
        self.server.rules.clear()

    def set_latency(self, latency_ms: int) -> None:
        self.server.latency_ms = int(latency_ms)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SimulatorHandle {self.url}>"


def start_simulator(
    host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, rules: Any = ()
) -> SimulatorHandle:
    """Start the simulator in a background (daemon) thread; port 0 picks a free port."""
    server = make_server(host, port, latency_ms, rules)
    # A short poll interval: stop() waits for the serving loop to notice, and tests start many servers.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"simulator-{server.server_address[1]}",
    )
    thread.daemon = True
    thread.start()
    return SimulatorHandle(server, thread)


# --- answering a conversation -------------------------------------------------------------------------


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


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_events(message: dict) -> bytes:
    """The message as the server-sent events of a streamed response."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "stop_details": None}
    start["usage"] = {**usage, "output_tokens": 1}
    out = [_sse("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            empty, deltas = {"type": "text", "text": ""}, [{"type": "text_delta", "text": block["text"]}]
        elif kind == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        else:
            empty = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": tokens.compact_json(block["input"])}]
        out.append(
            _sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}
            )
        )
        for delta in deltas:
            out.append(
                _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
        "stop_details": message["stop_details"],
    }
    out.append(_sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


# --- HTTP ---------------------------------------------------------------------------------------------


class DropConnection(Exception):
    """Close the socket without answering."""


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server_version = "erkweb-simulator/1"
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        # The request line and status only: headers (x-api-key among them) are never logged.
        log.debug("%s - %s", self.address_string(), format % args)

    # Routing ------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    ROUTES = {
        "/v1/messages": {"POST": "_messages"},
        "/v1/messages/count_tokens": {"POST": "_count_tokens"},
        "/_simulator/health": {"GET": "_health"},
        "/_simulator/rules": {"GET": "_get_rules", "POST": "_post_rules", "DELETE": "_delete_rules"},
    }

    def _dispatch(self, method: str) -> None:
        self.request_id = f"req_sim{secrets.token_hex(12)}"
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            methods = self.ROUTES.get(path)
            if methods is None:
                self._discard_body()
                raise SimulatorError(404, "not_found_error", f"Not found: {method} {path}")
            if method not in methods:
                self._discard_body()
                raise SimulatorError(405, "invalid_request_error", f"Method {method} not allowed for {path}")
            getattr(self, methods[method])()
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except SimulatorError as exc:
            self._send_json(exc.status, exc.body(self.request_id), exc.headers)
        except Exception as exc:  # a bug in the simulator: answer like the API's 500, and say so in the log
            log.exception("simulator error on %s %s", method, path)
            self._send_json(500, error_body("api_error", f"simulator internal error: {exc}", self.request_id))

    # Plumbing -----------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise SimulatorError(
                413, "request_too_large", "Request exceeds the maximum allowed number of bytes"
            )
        return self.rfile.read(length) if length else b""

    def _discard_body(self) -> None:
        with contextlib.suppress(SimulatorError):
            self._read_body()

    def _json_body(self) -> Any:
        raw = self._read_body()
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"There was an error parsing the body of your request: {exc}") from None

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", self.request_id)
        self.send_header("erkweb-simulator", "1")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    # Simulator control --------------------------------------------------------------------------------

    def _health(self) -> None:
        self._send_json(
            200,
            {
                "simulator": SIMULATOR_NAME,
                "version": SIMULATOR_VERSION,
                "latency_ms": self.server.latency_ms,
                "rules": len(self.server.rules),
                "players": sorted(player.name for player in players().values()),
            },
        )

    def _get_rules(self) -> None:
        self._send_json(200, {"rules": self.server.rules.as_list()})

    def _post_rules(self) -> None:
        body = self._json_body()
        try:
            if isinstance(body, list):
                self.server.rules.replace(body)
            elif isinstance(body, dict) and "behaviour" in body:
                self.server.rules.add([body])
            elif isinstance(body, dict) and isinstance(body.get("rules"), list):
                mode = body.get("mode", "replace")
                if mode not in ("replace", "add"):
                    raise ValueError("mode must be 'replace' or 'add'")
                (self.server.rules.add if mode == "add" else self.server.rules.replace)(body["rules"])
            else:
                raise ValueError(
                    'send a list of rules, {"rules": [...], "mode": "replace"|"add"}, or one rule'
                )
        except ValueError as exc:
            raise invalid(str(exc)) from None
        self._send_json(200, {"rules": self.server.rules.as_list()})

    def _delete_rules(self) -> None:
        self._discard_body()
        self.server.rules.clear()
        self._send_json(200, {"rules": []})

    # The API ------------------------------------------------------------------------------------------

    def _count_tokens(self) -> None:
        body = self._json_body()
        check_headers(self.headers)
        validate_count_tokens_request(body)
        self._send_json(200, {"input_tokens": tokens.count_request(body)})

    def _messages(self) -> None:
        started = time.monotonic()
        body = self._json_body()
        check_headers(self.headers)
        if self.server.latency_ms > 0:
            time.sleep(self.server.latency_ms / 1000)
        validate_messages_request(body)

        conversation = Conversation.from_body(body)
        player = find_player(conversation)
        target = replace(player.target(conversation), model=str(body.get("model", "")))

        decision = self.server.rules.take_http(target)
        if decision.delay_ms:
            time.sleep(decision.delay_ms / 1000)
        if decision.fault is not None:
            log.info(
                "%s rule %s fired (run %s, batch %s)",
                self.request_id,
                decision.rule.behaviour,
                *_where(target),
            )
            if decision.fault.action == "drop":
                raise DropConnection()
            raise SimulatorError(
                decision.fault.status,
                decision.fault.error_type,
                decision.fault.message,
                dict(decision.fault.headers),
            )

        if conversation.is_first_request:
            rule = self.server.rules.take_misbehaviour(target, player.behaviours)
            behaviour = rule.behaviour if rule else None
            if rule is not None:
                log.info(
                    "%s conversation starts with misbehaviour %s (run %s, batch %s)",
                    self.request_id,
                    behaviour,
                    *_where(target),
                )
                if rule.delay_ms():
                    time.sleep(rule.delay_ms() / 1000)
        else:
            behaviour = behaviour_of(conversation)
            if behaviour not in player.behaviours:
                behaviour = None

        turn = player.play(conversation, behaviour)
        answer = finish_turn(turn, conversation, behaviour)
        usage = self.server.cache.account(body).as_usage()
        usage["output_tokens"] = tokens.count_output(answer["content"])
        usage["service_tier"] = "standard"
        message = {
            "id": f"msg_sim{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": conversation.model,
            **answer,
            "usage": usage,
        }
        log.debug(
            "%s %s %s turn %d -> %s (in %d, cache write %d, cache read %d, out %d) %.0f ms",
            self.request_id,
            conversation.model,
            player.name,
            math.ceil(len(conversation.messages) / 2),
            message["stop_reason"],
            usage["input_tokens"],
            usage["cache_creation_input_tokens"],
            usage["cache_read_input_tokens"],
            usage["output_tokens"],
            (time.monotonic() - started) * 1000,
        )
        if body.get("stream"):
            headers = {"cache-control": "no-cache"}
            self._send(200, stream_events(message), "text/event-stream; charset=utf-8", headers)
        else:
            self._send_json(200, message)


def _where(target: Any) -> tuple[str, str]:
    return (target.run_id or "-", str(target.batch) if target.batch is not None else "-")
