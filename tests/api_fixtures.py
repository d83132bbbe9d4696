"""A recording proxy in front of the simulator: what erkweb's client really sends, and a network that
breaks. It is not an API: every answer is the simulator's, forwarded byte for byte, except where a test
asks the proxy to cut a stream short (a dropped connection after some events) or to hide that the
simulator is behind it (so that the endpoint counts as "any other base URL")."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


@dataclass
class ProxyState:
    upstream: str
    seen: list[Seen] = field(default_factory=list)
    hide_simulator: bool = False
    # Cut the next `breaks_left` streamed responses right after their first event of this type.
    break_after_event: str = "message_start"
    breaks_left: int = 0
    status_for_key: dict[str, tuple[int, dict]] = field(default_factory=dict)
    # Play a gateway that takes HTTP basic auth from its clients (user:password in its URL) and calls
    # the API with its own key: requests without these credentials get a 407.
    basic_auth: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/v1/messages") and "count_tokens" not in s.path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")

    def _forward(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with state.lock:
            state.seen.append(Seen(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if state.hide_simulator and self.path.startswith("/_simulator/"):
            return self._reply(404, b'{"error": "not here"}')
        if state.basic_auth is not None:
            import base64

            expected = "Basic " + base64.b64encode(state.basic_auth.encode()).decode()
            if self.headers.get("authorization") != expected:
                return self._reply(407, b'{"error": "proxy authentication required"}')
            del self.headers["authorization"]
            self.headers["authorization"] = "Bearer gateway-own-key"
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        if key in state.status_for_key:
            status, payload = state.status_for_key[key]
            return self._reply(status, json.dumps(payload).encode())
        upstream = urlsplit(state.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        conn.request(method, self.path, body=raw, headers={**headers, "content-length": str(len(raw))})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        cut = False
        if (response.getheader("content-type") or "").startswith("text/event-stream"):
            with state.lock:
                marker = f"event: {state.break_after_event}\n".encode()
                if state.breaks_left > 0 and marker in data:
                    state.breaks_left -= 1
                    cut = data.index(b"\n\n", data.index(marker)) + 2
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if cut:
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def _reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: ProxyState):
        self.state = state
        super().__init__(("127.0.0.1", 0), _Handler)


class Proxy:
    def __init__(self, upstream: str):
        self.state = ProxyState(upstream=upstream)
        self._server = _Server(self.state)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
