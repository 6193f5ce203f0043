"""A real HTTP server in front of the real node: forwards every request, except that `_bulk` requests can fail.

Fault injection at the wire, so the client's own transport (its retries included) is what is tested: a
bulk request is answered 503 or 429, its connection is dropped without an answer, or the answer is held
back until the client times out. Every `_bulk` request that reaches the server is counted.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Fault = Literal["503", "429", "drop", "hold"]
HOLD_LIMIT = 30.0
"""A held request is answered (with a 504) after this long at the latest, so no server thread outlives a test."""


@dataclass
class Faults:
    """What the proxy does to `_bulk` requests number `first` to `last` (1-based, inclusive; None: no end)."""

    fault: Fault
    first: int = 1
    last: int | None = None

    def applies(self, number: int) -> bool:
        """True when bulk request `number` is to fail."""
        return number >= self.first and (self.last is None or number <= self.last)


class FaultProxy:
    """The proxy's state: the node it forwards to, the faults, and the `_bulk` requests it saw."""

    def __init__(self, upstream: str, faults: Faults) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = faults
        self.bulk_requests = 0
        self.failed_bulk_requests = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.url = ""

    def count_bulk(self) -> int:
        """Count one more bulk request; returns its number."""
        with self._lock:
            self.bulk_requests += 1
            return self.bulk_requests

    def count_failure(self) -> None:
        """Count one bulk request the proxy failed on purpose."""
        with self._lock:
            self.failed_bulk_requests += 1


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (the stdlib's name)
            """Quiet: the tests assert on counts, not on an access log."""

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path.endswith("/_bulk"):
                number = proxy.count_bulk()
                if proxy.faults.applies(number):
                    proxy.count_failure()
                    self._fail(proxy.faults.fault)
                    return
            self._forward(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        def _fail(self, fault: Fault) -> None:
            if fault == "drop":
                self.close_connection = True
                return
            if fault == "hold":
                proxy.released.wait(HOLD_LIMIT)
                self.close_connection = True
                self._answer(504, {"error": "held by the fault proxy", "status": 504})
                return
            status = int(fault)
            kind = "es_rejected_execution_exception" if status == 429 else "cluster_block_exception"
            self._answer(status, {"error": {"type": kind, "reason": f"injected {status}"}, "status": status})

        def _answer(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a held request first: that is the point

        def _forward(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            try:
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
            finally:
                upstream.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


@contextmanager
def fault_proxy(upstream: str, faults: Faults) -> Iterator[FaultProxy]:
    """A running proxy on 127.0.0.1 (a free port) in front of `upstream`; stopped when the block ends."""
    proxy = FaultProxy(upstream, faults)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
