"""The receiver process: every configured listener on one asyncio loop, all writing one spool.

Run by `siem serve` as a child (`python -m dagster_project.collect.receiver`), which hands it the listening
sockets (so ports stay bound across restarts) and the connections a previous receiver left (see
`collect.parking`). Started alone, it binds the listeners itself. It saves its counters in
SPOOL/receiver.json (what `siem collect status` reads; `collect.counters` makes them exact across a
crash). SIGTERM or SIGINT stops it cleanly, losing nothing it read: stop accepting, let HTTP requests in
progress finish, half-close every syslog stream and read it until the sender closes (or a deadline),
read the UDP queue to its end, then fsync and seal every open segment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
import time
import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web

from dagster_project.collect.config import ReceiverConfig
from dagster_project.collect.counters import FIELDS, restored_counters
from dagster_project.collect.cursor import stale_cursors
from dagster_project.collect.host import ListenerStats
from dagster_project.collect.http import LogsEndpoint, application
from dagster_project.collect.listeners import Listener
from dagster_project.collect.parking import ParkingClient
from dagster_project.collect.spool import (
    STATUS_FILE,
    STREAM,
    SpoolWriter,
    read_entries,
    read_json,
    segments,
    write_json_atomically,
)
from dagster_project.collect.tcp import PEEK_BYTES, StreamConnection, TcpListener, resume_connection
from dagster_project.collect.tls import server_context
from dagster_project.collect.tls_stream import TlsConnection
from dagster_project.collect.udp import DatagramListener

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
STATUS_SECONDS = 1.0
STOP_DEADLINE_SECONDS = 5.0
"""How long a graceful stop goes on reading half-closed syslog streams whose senders keep sending."""
STOP_QUIET_SECONDS = 0.5
"""A half-closed stream that stays silent this long has nothing more in flight."""
HTTP_STOP_SECONDS = 10.0


def bind(listener: Listener) -> socket.socket:
    """A bound (and, for stream transports, listening) socket for a listener."""
    kind = socket.SOCK_DGRAM if listener.transport == "udp" else socket.SOCK_STREAM
    family, _, _, _, address = socket.getaddrinfo(listener.address.host, listener.address.port, type=kind)[0]
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_DGRAM:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)  # absorb bursts
    sock.bind(address)
    if kind == socket.SOCK_STREAM:
        sock.listen(1024)
    return sock


def bound_address(sock: socket.socket) -> tuple[str, int]:
    """(host, port) a socket is bound to (the real port when 0 was asked for)."""
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


class Receiver:
    """Owns the spool, the listeners and their counters; the listeners call back into it (`collect.host.Host`)."""

    def __init__(
        self,
        config: ReceiverConfig,
        listeners: list[Listener],
        sockets: dict[str, socket.socket],
        *,
        parking: ParkingClient | None = None,
        adopted: dict[str, socket.socket] | None = None,
    ) -> None:
        self.config = config
        self.root = config.root
        self.listeners = listeners
        self.sockets = sockets
        self.parking = parking
        self.adopted = adopted or {}
        self.spool = SpoolWriter(
            self.root,
            segment_bytes=config.spool.segment_bytes,
            segment_seconds=config.spool.segment_seconds,
            max_bytes=config.spool.max_bytes,
        )
        self.run = uuid.uuid4().hex[:12]
        self.started = time.time()
        self.stats: dict[str, ListenerStats] = {}
        for listener in listeners:
            host, port = bound_address(sockets[listener.name])
            self.stats[listener.name] = ListenerStats(
                listener.name, listener.transport, f"{host}:{port}", port, listener.source or "*"
            )
        self.keys: dict[tuple[str, str], tuple[int, str]] = {}
        """Idempotency keys seen: (source, key) -> (records accepted, body digest)."""
        self.connections: set[Any] = set()
        self.held: set[Any] = set()
        self.marks: dict[str, list[int]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._stop = asyncio.Event()
        self._tcp: list[TcpListener] = []
        self._tls: list[asyncio.Server] = []
        self._udp: list[DatagramListener] = []
        self._http: web.AppRunner | None = None
        self._saved: tuple[int, ...] = ()
        self.loop: asyncio.AbstractEventLoop

    # -- what the listeners call ---------------------------------------------------------------------
    def append(self, source: str, data: bytes) -> None:
        """Append encoded entries; with SIEM_SPOOL_FSYNC=batch they are fsynced before this returns."""
        self.spool.append(source, data)
        if self.config.spool.fsync_interval is None:
            self.spool.sync()

    async def durable(self) -> None:
        """Wait until everything appended so far is fsynced (immediate with the batch policy)."""
        if self.config.spool.fsync_interval is None:
            return
        waiter = self.loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def hold(self, connection: Any) -> None:
        """Stop reading a connection until the spool has room again."""
        connection.pause()
        self.held.add(connection)

    def adopt(self, connection: Any) -> None:
        """Track a new connection."""
        self.connections.add(connection)

    def forget(self, connection: Any) -> None:
        """A connection ended."""
        self.connections.discard(connection)
        self.held.discard(connection)
        if isinstance(connection, StreamConnection) and self.parking is not None:
            self.parking.release(connection.conn_id)

    def park(self, conn_id: str, sock: socket.socket) -> None:
        """Hand a duplicate of a new TCP connection to the supervisor."""
        if self.parking is not None:
            self.parking.park(conn_id, sock)

    # -- the process -------------------------------------------------------------------------------
    async def serve(self) -> None:
        """Recover the spool, start every listener, run until SIGTERM/SIGINT, then stop cleanly."""
        self.loop = asyncio.get_running_loop()
        recovered = self.spool.recover()
        if recovered.sealed:
            log.warning("sealed %d segments a previous receiver left open", len(recovered.sealed))
        self._load_keys()
        self._load_counters()
        for listener in self.listeners:
            await self._start(listener)
        for path in stale_cursors(self.root, set(self.adopted)):
            path.unlink(missing_ok=True)
        for conn_id, sock in self.adopted.items():
            stats = self._tcp_stats(sock)
            if stats is None:
                sock.close()
                continue
            self.adopt(
                resume_connection(
                    self,
                    stats,
                    sock,
                    conn_id,
                    recovered.connection_ends.get(conn_id),
                    recovered.connection_messages.get(conn_id, []),
                )
            )
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self._stop.set)
        self.write_status(ready=True)
        ticker = asyncio.create_task(self._tick())
        await self._stop.wait()
        ticker.cancel()
        await self._shutdown()

    def stop(self) -> None:
        """Ask `serve` to stop (as SIGTERM does)."""
        self._stop.set()

    async def _start(self, listener: Listener) -> None:
        stats = self.stats[listener.name]
        sock = self.sockets[listener.name]
        hosts = [item.address.host for item in self.listeners]
        if listener.transport == "udp":
            udp = DatagramListener(self, stats, sock)
            await self.loop.create_datagram_endpoint(lambda: udp, sock=sock)
            self._udp.append(udp)
        elif listener.transport == "tcp":
            self._tcp.append(TcpListener(self, stats, sock))
        elif listener.transport == "tls":
            context = server_context(self.config.collect, self.config.home, hosts)
            server = await self.loop.create_server(lambda: TlsConnection(self, stats), sock=sock, ssl=context)
            self._tls.append(server)
        else:
            endpoint = LogsEndpoint(self, stats, self.config.collect.http_token.get_secret_value())
            runner = web.AppRunner(application(endpoint, self.config.collect.http_max_body_bytes), access_log=None)
            await runner.setup()
            tls: ssl.SSLContext | None = (
                server_context(self.config.collect, self.config.home, hosts) if self.config.collect.http_tls else None
            )
            await web.SockSite(runner, sock, ssl_context=tls, shutdown_timeout=HTTP_STOP_SECONDS).start()
            self._http = runner
        log.info("%s listening on %s -> %s", listener.name, stats.address, stats.source)

    def _tcp_stats(self, sock: socket.socket) -> ListenerStats | None:
        port = bound_address(sock)[1]
        for stats in self.stats.values():
            if stats.transport == "tcp" and stats.port == port:
                return stats
        return None

    async def _tick(self) -> None:
        interval = self.config.spool.fsync_interval
        tick = min(TICK_SECONDS, interval) if interval else TICK_SECONDS
        last_sync = last_status = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if interval is not None and now - last_sync >= interval:
                self._sync()
                last_sync = now
            self.spool.seal_due()
            if self._counters() != self._saved or now - last_status >= STATUS_SECONDS:
                last_status = now
                self.spool.refresh_usage()
                if self.held and self.spool.has_room(4 * PEEK_BYTES):
                    for connection in list(self.held):
                        self.held.discard(connection)
                        connection.resume()
                self.write_status()

    def _sync(self) -> None:
        self.spool.sync()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _shutdown(self) -> None:
        """Stop accepting, finish what is in flight, spool everything read, seal."""
        for tcp in self._tcp:
            tcp.close()
        for server in self._tls:
            server.close()
        http = asyncio.create_task(self._http.cleanup()) if self._http is not None else None
        streams = [c for c in self.connections if isinstance(c, StreamConnection | TlsConnection)]
        self.held.clear()
        for connection in streams:
            connection.begin_stop()
        await self._quiesce(streams)
        for connection in [c for c in streams if c in self.connections]:
            connection.drain()
            connection.finish()
        tls_closed = [c.closed for c in streams if isinstance(c, TlsConnection) and not c.closed.done()]
        if tls_closed:
            await asyncio.wait(tls_closed, timeout=2.0)
        if http is not None:
            await http
        for udp in self._udp:
            udp.drain()
        self._sync()
        sealed = self.spool.seal_all()
        self.write_status(running=False)
        log.info("stopped; sealed %d open segments", len(sealed))

    async def _quiesce(self, streams: list[Any]) -> None:
        """Wait until every half-closed stream was closed by its sender or stayed silent (up to a deadline)."""
        deadline = time.monotonic() + STOP_DEADLINE_SECONDS
        last = {id(c): self._stream_bytes(c) for c in streams}
        quiet_since = {id(c): time.monotonic() for c in streams}
        while time.monotonic() < deadline:
            live = [c for c in streams if c in self.connections]
            if not live:
                return
            await asyncio.sleep(0.05)
            now = time.monotonic()
            for connection in live:
                seen = self._stream_bytes(connection)
                if seen != last[id(connection)]:
                    last[id(connection)] = seen
                    quiet_since[id(connection)] = now
            if all(now - quiet_since[id(c)] >= STOP_QUIET_SECONDS for c in live):
                return

    @staticmethod
    def _stream_bytes(connection: Any) -> int:
        return int(connection.offset) if isinstance(connection, StreamConnection) else connection.stats.received

    def _load_keys(self) -> None:
        for segment in segments(self.root):
            for entry in read_entries(segment.path, with_payload=False):
                key = entry.header.get("k")
                if entry.kind == STREAM and key is not None:
                    self.keys[(segment.source, key)] = (entry.records, str(entry.header.get("h", "")))

    def _load_counters(self) -> None:
        status = read_json(self.root / STATUS_FILE)
        self.marks = dict(status.get("marks", {}))
        counts = restored_counters(self.root, status)
        for stats in self.stats.values():
            for field_name, value in counts.get(stats.name, {}).items():
                setattr(stats, field_name, value)

    def _counters(self) -> tuple[int, ...]:
        return tuple(getattr(stats, name) for stats in self.stats.values() for name in FIELDS)

    def write_status(self, *, ready: bool = True, running: bool = True) -> None:
        """Write SPOOL/receiver.json: counters and the spool marks they were counted to, spool usage, open segments."""
        self.marks |= self.spool.marks()
        self._saved = self._counters()
        write_json_atomically(
            self.root / STATUS_FILE,
            {
                "pid": os.getpid(),
                "run": self.run,
                "running": running,
                "ready": ready,
                "started": self.started,
                "updated": time.time(),
                "listeners": [asdict(stats) for stats in self.stats.values()],
                "marks": self.marks,
                "spool": {
                    "dir": str(self.root),
                    "bytes": self.spool.usage,
                    "max_bytes": self.spool.max_bytes,
                    "full": not self.spool.has_room(PEEK_BYTES),
                    "held_connections": len(self.held),
                },
                "open_segments": self.spool.open_state(),
            },
        )


def receiver_arguments(listening: dict[str, int], channel: int, adopted: dict[str, int]) -> list[str]:
    """The command-line arguments that hand a receiver its inherited descriptors (see `main`)."""
    arguments = [f"--listen={name}={fd}" for name, fd in listening.items()]
    arguments += [f"--channel={channel}"]
    return arguments + [f"--adopt={conn_id}={fd}" for conn_id, fd in adopted.items()]


def _fd_map(values: list[str]) -> dict[str, int]:
    return {name: int(fd) for name, _, fd in (item.partition("=") for item in values)}


def main(argv: list[str] | None = None) -> None:
    """Entry point of the receiver child process (and of a receiver run on its own, binding its own sockets)."""
    parser = argparse.ArgumentParser(prog="python -m dagster_project.collect.receiver")
    parser.add_argument("--listen", action="append", default=[], metavar="NAME=FD", help="an inherited listener")
    parser.add_argument("--channel", type=int, metavar="FD", help="the supervisor's parking channel")
    parser.add_argument("--adopt", action="append", default=[], metavar="ID=FD", help="a parked connection")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    config = ReceiverConfig.from_environment()
    listeners = config.listeners()
    inherited = _fd_map(arguments.listen)
    sockets = {
        listener.name: socket.socket(fileno=inherited[listener.name]) if listener.name in inherited else bind(listener)
        for listener in listeners
    }
    parking = ParkingClient(socket.socket(fileno=arguments.channel)) if arguments.channel is not None else None
    adopted = {conn_id: socket.socket(fileno=fd) for conn_id, fd in _fd_map(arguments.adopt).items()}
    receiver = Receiver(config, listeners, sockets, parking=parking, adopted=adopted)
    asyncio.run(receiver.serve())


if __name__ == "__main__":
    main()
