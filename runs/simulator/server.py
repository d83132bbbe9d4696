"""The simulator's HTTP server: the Messages API on loopback, for runs without an API key.

Endpoints:
- POST /v1/messages                 validate, apply fault rules, let a player answer, count usage
                                    (exchange.py); `"stream": true` answers in server-sent events
- POST /v1/messages/count_tokens    {"input_tokens": n}, the same count the usage of /v1/messages bills
- GET  /v1/models, /v1/models/{id}  the Models API (models_api.py)
- POST /v1/messages/batches          the Message Batches API (message_batches_api.py, message_batches.py):
  GET  /v1/messages/batches          create, list, retrieve, cancel, delete, results (JSON Lines);
  GET|DELETE /v1/messages/batches/{id}      each request processed as /v1/messages answers it, after
  POST /v1/messages/batches/{id}/cancel     the batch delay (`batch_delay_ms`); kept in memory only
  GET  /v1/messages/batches/{id}/results
- GET  /_simulator/health           {"simulator": "erkweb", "version": 1, "latency_ms": ...}
- GET/POST/DELETE /_simulator/rules list / replace-or-add / clear the fault rules (faults.py)

Every response carries a `request-id` header and `erkweb-simulator: 1`. The API key (x-api-key or
Authorization: Bearer) is checked for presence only, never logged or echoed. A request body over 32 MB
is answered 413 request_too_large (https://platform.claude.com/docs/en/api/overview, "Request size
limits": 32 MB for the Messages and Token Counting APIs); a Message Batch over 256 MB likewise.

`start_simulator()` runs it in a background thread for tests and the benchmark; the `simulator` management
command runs it in the foreground. The server is a ThreadingHTTPServer: a slow answer (latency, a "slow"
rule) holds only its own connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import message_batches_api, model_rules, models_api, tokens
from .cache import PromptCache
from .clock import SimulatorClock
from .exchange import DropConnection, Reply, prepare
from .faults import RuleBook
from .message_batches import DEFAULT_DELAY_MS, MessageBatchBook
from .pauses import PauseBook
from .players import players
from .streaming import error_event, stream_events
from .validation import SimulatorError, check_headers, error_body, invalid, validate_count_tokens_request

log = logging.getLogger("runs.simulator")

SIMULATOR_NAME = "erkweb"
SIMULATOR_VERSION = 1
# "32 MB": read as 32,000,000 bytes, the stricter of the two readings.
MAX_BODY_BYTES = 32_000_000
DRAIN_CHUNK = 1 << 20


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        latency_ms: int = 0,
        rules: Any = (),
        quirks: bool = True,
        batch_delay_ms: int = DEFAULT_DELAY_MS,
    ) -> None:
        self.rules = RuleBook(rules)
        self.clock = SimulatorClock()
        self.cache = PromptCache(self.clock.now)
        self.pauses = PauseBook()
        self.message_batches = MessageBatchBook(batch_delay_ms)
        self.latency_ms = int(latency_ms)
        self.quirks = bool(quirks)  # quirks.py; on by default, as on the real API
        super().__init__(address, SimulatorHandler)


class SimulatorServer6(SimulatorServer):
    address_family = socket.AF_INET6


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: int = 0,
    rules: Any = (),
    quirks: bool = True,
    batch_delay_ms: int = DEFAULT_DELAY_MS,
) -> SimulatorServer:
    server_class = SimulatorServer6 if ":" in host else SimulatorServer
    return server_class(
        (host, port), latency_ms=latency_ms, rules=rules, quirks=quirks, batch_delay_ms=batch_delay_ms
    )


def server_url(server: SimulatorServer) -> str:
    host, port = server.server_address[:2]
    name = host.decode() if isinstance(host, bytes) else str(host)
    return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


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

    def set_quirks(self, on: bool) -> None:
        self.server.quirks = bool(on)

    def set_batch_delay(self, batch_delay_ms: int) -> None:
        """The processing delay of the Message Batches created from now on."""
        self.server.message_batches.delay_ms = int(batch_delay_ms)

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock (prompt cache TTLs, Message Batch schedules) forward, processing
        every batch request that falls due on the way at its own time."""
        self.server.message_batches.advance(self.server, seconds)

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
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: int = 0,
    rules: Any = (),
    quirks: bool = True,
    batch_delay_ms: int = DEFAULT_DELAY_MS,
) -> SimulatorHandle:
    """Start the simulator in a background (daemon) thread; port 0 picks a free port."""
    server = make_server(host, port, latency_ms, rules, quirks, batch_delay_ms)
    # A short poll interval: stop() waits for the serving loop to notice, and tests start many servers.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"simulator-{server.server_address[1]}",
    )
    thread.daemon = True
    thread.start()
    return SimulatorHandle(server, thread)


# --- HTTP ---------------------------------------------------------------------------------------------


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
        "/v1/models": {"GET": "_list_models"},
        "/v1/models/*": {"GET": "_get_model"},
        "/v1/messages/batches": {"GET": "_list_batches", "POST": "_create_batch"},
        "/v1/messages/batches/*": {"GET": "_get_batch", "DELETE": "_delete_batch"},
        "/v1/messages/batches/*/cancel": {"POST": "_cancel_batch"},
        "/v1/messages/batches/*/results": {"GET": "_batch_results"},
        "/_simulator/health": {"GET": "_health"},
        "/_simulator/rules": {"GET": "_get_rules", "POST": "_post_rules", "DELETE": "_delete_rules"},
    }

    def _dispatch(self, method: str) -> None:
        self.request_id = f"req_sim{secrets.token_hex(12)}"
        path, _, self.query = self.path.partition("?")
        path = path.rstrip("/") or "/"
        try:
            methods = self.ROUTES.get(self._route(path))
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

    def _route(self, path: str) -> str:
        """The ROUTES key of `path`; its {id} part goes to self.path_arg."""
        self.path_arg = ""
        for prefix in ("/v1/models/", "/v1/messages/batches/"):
            if path.startswith(prefix) and path not in self.ROUTES:
                self.path_arg, _, tail = path.removeprefix(prefix).partition("/")
                return prefix + "*" + (f"/{tail}" if tail else "")
        return path

    # Plumbing -----------------------------------------------------------------------------------------

    def _read_body(self, limit: int = MAX_BODY_BYTES) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                chunk = self.rfile.read(size)
                if total <= limit:
                    chunks.append(chunk)
                self.rfile.readline()
            if total > limit:
                raise self._too_large()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length > limit:
            # Read it all before answering: a client still sending would see a reset, not the 413.
            while length > 0:
                length -= len(self.rfile.read(min(DRAIN_CHUNK, length)) or b"x" * length)
            raise self._too_large()
        return self.rfile.read(length) if length else b""

    def _too_large(self) -> SimulatorError:
        self.close_connection = True
        return SimulatorError(
            413, "request_too_large", "Request exceeds the maximum allowed number of bytes."
        )

    def _discard_body(self) -> None:
        with contextlib.suppress(SimulatorError):
            self._read_body()

    def _json_body(self, limit: int = MAX_BODY_BYTES) -> Any:
        raw = self._read_body(limit)
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
                "quirks": self.server.quirks,
                "batch_delay_ms": self.server.message_batches.delay_ms,
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
        model = model_rules.known_model(body)
        model_rules.check_request(body, model, count_tokens=True)
        self._send_json(200, {"input_tokens": tokens.count_request(body)})

    def _list_models(self) -> None:
        self._discard_body()
        check_headers(self.headers)
        self._send_json(200, models_api.page(self.query))

    def _get_model(self) -> None:
        self._discard_body()
        check_headers(self.headers)
        self._send_json(200, models_api.one(self.path_arg))

    def _messages(self) -> None:
        body = self._json_body()
        check_headers(self.headers)
        # Batch requests due by now are processed first: their cache writes are readable to this one.
        self.server.message_batches.tick(self.server)
        reply = prepare(self.server, body, self.request_id)
        # The response starts now: from here on, what this request wrote to the cache is readable.
        self.server.cache.commit(reply.cache_plan)
        if reply.stream:
            self._send_stream(reply)
        else:
            self._send_json(200, reply.message)

    # The Message Batches API (message_batches_api.py) ------------------------------------------------

    def _base_url(self) -> str:
        """Where the client reached this server, for results_url (the SDK follows it as given)."""
        host = (self.headers.get("host") or "").strip()
        return f"http://{host}" if host else server_url(self.server)

    def _batch_call(self, body: bool = False) -> Any:
        """The common start of every batch endpoint: the body (or none), the headers, the clock."""
        payload = None
        if body:
            payload = self._json_body(message_batches_api.MAX_BODY_BYTES)
        else:
            self._discard_body()
        check_headers(self.headers)
        self.server.message_batches.tick(self.server)
        return payload

    def _create_batch(self) -> None:
        body = self._batch_call(body=True)
        self._send_json(200, message_batches_api.create(self.server, body, self._base_url()))

    def _list_batches(self) -> None:
        self._batch_call()
        self._send_json(200, message_batches_api.page(self.server, self.query, self._base_url()))

    def _get_batch(self) -> None:
        self._batch_call()
        self._send_json(200, message_batches_api.retrieve(self.server, self.path_arg, self._base_url()))

    def _cancel_batch(self) -> None:
        self._batch_call()
        self._send_json(200, message_batches_api.cancel(self.server, self.path_arg, self._base_url()))

    def _delete_batch(self) -> None:
        self._batch_call()
        self._send_json(200, message_batches_api.delete(self.server, self.path_arg))

    def _batch_results(self) -> None:
        self._batch_call()
        self._send(200, message_batches_api.results(self.server, self.path_arg), "application/x-jsonl")

    def _send_stream(self, reply: Reply) -> None:
        events = stream_events(reply.message)
        fault = reply.stream_fault.fault
        cut = len(events)
        rule = reply.stream_fault.rule
        if fault is not None and rule is not None:
            cut = len(events) // 2 if rule.after_events is None else min(rule.after_events, len(events))
            log.info(
                "%s rule %s fired after %d of %d events", self.request_id, rule.behaviour, cut, len(events)
            )
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", self.request_id)
        self.send_header("erkweb-simulator", "1")
        self.end_headers()
        sent = b"".join(events[:cut])
        if fault is not None and fault.action == "stream-error":
            sent += error_event(fault.error_type, fault.message)
        if sent:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(sent), sent))
        if fault is not None and fault.action == "break-stream":
            self.wfile.flush()
            raise DropConnection()
        self.wfile.write(b"0\r\n\r\n")
