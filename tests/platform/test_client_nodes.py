"""The one client factory with several URLs: connection errors and 503s move to another node, timeouts do not.

The failing "nodes" are real HTTP servers on loopback (one answers 503, one answers too late, one port is
closed) listed beside the real node, in the same OPENSEARCH_URL shape a user writes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opensearchpy.exceptions import ConnectionTimeout

from dagster_project.client import make_client
from dagster_project.ingest.pipeline import BULK_IN_FLIGHT
from dagster_project.settings import ConnectionSettings, url_list


class _Peer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int, delay: float) -> None:
        self.status, self.delay, self.requests = status, delay, 0
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client that timed out hung up: expected, not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    server: _Peer

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self.server.requests += 1
        self.server.release.wait(self.server.delay)
        body = b'{"error": "injected"}'
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[_Peer]:
    """A loopback HTTP server answering every request with (status, after delay seconds)."""
    status, delay = request.param
    server = _Peer(status, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_opensearch_url_lists_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", " http://a:9200/ , http://b:9200,, https://c:9200/ ")
    assert ConnectionSettings().url == "http://a:9200,http://b:9200,https://c:9200"
    assert url_list(ConnectionSettings().url) == ["http://a:9200", "http://b:9200", "https://c:9200"]
    assert url_list("http://one:9200/") == ["http://one:9200"]


@pytest.mark.parametrize("peer", [(503, 0.0)], indirect=True)
def test_a_node_answering_503_is_left_for_another(peer: _Peer, opensearch_url: str) -> None:
    client = make_client(f"{peer.url},{opensearch_url}")
    try:
        versions = {client.info()["version"]["number"] for _ in range(4)}
    finally:
        client.close()
    assert len(versions) == 1
    assert peer.requests == 1, "tried once, then marked dead while the other node answers"


def test_a_closed_port_is_left_for_another(opensearch_url: str) -> None:
    client = make_client(f"http://127.0.0.1:{_closed_port()},{opensearch_url}")
    try:
        assert all(client.info()["version"]["number"] for _ in range(4))
    finally:
        client.close()


@pytest.mark.parametrize("peer", [(200, 5.0)], indirect=True)
def test_a_timeout_is_not_retried_on_another_node(peer: _Peer, opensearch_url: str) -> None:
    client = make_client(f"{peer.url},{opensearch_url}", timeout=0.5)
    outcomes: list[str] = []
    started = time.monotonic()
    try:
        for _ in range(2):  # round robin over two nodes: one of these goes to the slow one
            try:
                client.info()
                outcomes.append("answered")
            except ConnectionTimeout:
                outcomes.append("timed out")
    finally:
        client.close()
    assert sorted(outcomes) == ["answered", "timed out"], "the request may have been applied: not re-sent"
    assert peer.requests == 1
    assert time.monotonic() - started < 5.0


def test_each_node_keeps_a_connection_for_every_bulk_writer_and_a_search() -> None:
    pools = make_client("http://127.0.0.1:9,http://127.0.0.1:10").transport.connection_pool.connections
    assert len(pools) == 2 and all(pool.pool.pool.maxsize > BULK_IN_FLIGHT for pool in pools)
