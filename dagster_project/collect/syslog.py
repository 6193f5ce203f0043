"""Syslog receivers on one asyncio loop: UDP datagrams, TCP (peek, spool, then consume) and TLS (RFC 5425).

TCP reads with MSG_PEEK and consumes only the bytes of frames already appended to the spool, so whatever
the receiver has not spooled is still in the kernel's buffer (see `collect.parking`); when the spool is
full it stops reading and TCP's window pushes back on the sender. TLS decrypts in this process, so its
bytes are spooled as soon as they are read and reading pauses when the spool is full. UDP cannot push
back: a datagram that does not fit is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any

from dagster_project.collect.framing import Frame, Framer
from dagster_project.collect.host import Host, ListenerStats
from dagster_project.collect.identity import datagram_scope, stream_scope
from dagster_project.collect.parking import consumed_offset, peer_closed
from dagster_project.collect.spool import MESSAGES, encode_entry, pack_messages
from dagster_project.ingest.ids import RepeatCounter
from dagster_project.sources.base import MAX_LINE_BYTES

log = logging.getLogger(__name__)

PEEK_BYTES = 256 * 1024
MAX_PEEK_BYTES = MAX_LINE_BYTES + 64 * 1024


def peer_text(address: Any) -> tuple[str, str]:
    """(ip, "ip:port") of a socket address; IPv4-mapped IPv6 addresses are shown as IPv4."""
    host, port = str(address[0]), address[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def _entry(frames: list[Frame], repeats: RepeatCounter, header: dict[str, Any]) -> tuple[bytes, int]:
    """A MESSAGES entry for `frames` (occurrences counted per connection) and its record count."""
    messages = [bytes(f.data) for f in frames]
    occurrences = []
    errors = []
    for index, frame in enumerate(frames):
        seen = repeats.occurrence(messages[index])
        if seen:
            occurrences.append([index, seen])
        if frame.error:
            errors.append([index, frame.error])
    header["n"] = len(messages)
    if occurrences:
        header["o"] = occurrences
    if errors:
        header["x"] = errors
    return encode_entry(MESSAGES, header, pack_messages(messages)), len(messages)


class StreamConnection:
    """One plain TCP connection, read by peeking so that nothing leaves the kernel before it is spooled."""

    def __init__(
        self,
        receiver: Host,
        stats: ListenerStats,
        sock: socket.socket,
        conn_id: str,
        *,
        offset: int = 0,
        skip: int = 0,
        history: Iterable[bytes] = (),
    ) -> None:
        self.receiver = receiver
        self.stats = stats
        self.sock = sock
        self.conn_id = conn_id
        self.offset = offset
        self.skip = skip
        self.framer = Framer()
        self.repeats = RepeatCounter()
        for message in history:
            self.repeats.occurrence(message)
        ip, self.peer = peer_text(sock.getpeername())
        self.scope = stream_scope("tcp", stats.port, ip)
        self.peek_bytes = PEEK_BYTES
        self._lowat = 1
        self.reading = False
        sock.setblocking(False)
        stats.connections += 1
        self.resume()

    def resume(self) -> None:
        """Start (or restart) reading."""
        if not self.reading and self.sock.fileno() >= 0:
            self.receiver.loop.add_reader(self.sock.fileno(), self.on_readable)
            self.reading = True

    def pause(self) -> None:
        """Stop reading: the kernel's buffer fills and TCP stops the sender."""
        if self.reading:
            self.receiver.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def on_readable(self) -> None:
        """Spool the complete frames waiting on the socket, then consume exactly their bytes."""
        try:
            if self.skip:
                self._consume(self.skip)
                self.offset += self.skip
                self.skip = 0
            if not self.receiver.spool.has_room(self.peek_bytes):
                self.receiver.hold(self)
                return
            data = self.sock.recv(self.peek_bytes, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.info("connection from %s failed: %s", self.peer, exc)
            self.close()
            return
        if not data:
            self.close()
            return
        frames, used = self.framer.split(data)
        finished = False
        if used == 0:
            if not peer_closed(self.sock):
                if len(data) >= self.peek_bytes:
                    self.peek_bytes = min(self.peek_bytes * 2, MAX_PEEK_BYTES)
                self._set_lowat(len(data) + 1)  # wake up only when more than this partial frame is there
                return
            frames, used, finished = self.framer.finish(data), len(data), True
        if frames:
            header = {"t": time.time(), "p": self.peer, "l": self.stats.name, "s": self.scope}
            header |= {"c": self.conn_id, "e": self.offset + used}
            entry, count = _entry(frames, self.repeats, header)
            self.receiver.append(self.stats.source, entry)
            self.stats.count(count)
        self._consume(used)
        self.offset += used
        if self._lowat != 1:
            self._set_lowat(1)
        if finished:
            self.close()

    def drain(self) -> None:
        """Spool everything already buffered (on shutdown)."""
        while self.sock.fileno() >= 0:
            before = self.offset
            self.on_readable()
            if self.offset == before:
                return

    def _consume(self, count: int) -> None:
        scratch = bytearray(min(count, 1 << 20))
        while count > 0:
            got = self.sock.recv_into(scratch, min(count, len(scratch)))
            if got == 0:
                return
            count -= got

    def _set_lowat(self, value: int) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, value)
        self._lowat = value

    def close(self) -> None:
        """Close the connection for good (also the supervisor's duplicate)."""
        if self.sock.fileno() < 0:
            return
        self.pause()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # acts on the supervisor's duplicate too
        self.sock.close()
        self.stats.connections -= 1
        self.receiver.forget(self)


class TcpListener:
    """Accepts plain TCP connections on a listening socket and parks each with the supervisor."""

    def __init__(self, receiver: Host, stats: ListenerStats, sock: socket.socket) -> None:
        self.receiver = receiver
        self.stats = stats
        self.sock = sock
        sock.setblocking(False)
        receiver.loop.add_reader(sock.fileno(), self.on_accept)

    def on_accept(self) -> None:
        """Accept every waiting connection."""
        while True:
            try:
                conn, _address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept failed on %s: %s", self.stats.name, exc)
                return
            conn_id = uuid.uuid4().hex[:16]
            self.receiver.park(conn_id, conn)
            self.receiver.adopt(StreamConnection(self.receiver, self.stats, conn, conn_id))

    def close(self) -> None:
        """Stop accepting."""
        self.receiver.loop.remove_reader(self.sock.fileno())


def resume_connection(
    receiver: Host,
    stats: ListenerStats,
    sock: socket.socket,
    conn_id: str,
    spooled_end: int | None,
    history: list[bytes],
) -> StreamConnection:
    """Adopt a connection a previous receiver held: skip what it spooled but had not consumed."""
    consumed = consumed_offset(sock)
    skip = max(0, spooled_end - consumed) if spooled_end is not None else 0
    log.info("resuming connection %s at byte %d (skipping %d already spooled)", conn_id, consumed, skip)
    return StreamConnection(receiver, stats, sock, conn_id, offset=consumed, skip=skip, history=history)


class TlsProtocol(asyncio.Protocol):
    """One TLS connection: frames are spooled as they are decrypted; reading pauses while the spool is full."""

    def __init__(self, receiver: Host, stats: ListenerStats) -> None:
        self.receiver = receiver
        self.stats = stats
        self.framer = Framer()
        self.repeats = RepeatCounter()
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.scope = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Note the peer."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ip, self.peer = peer_text(transport.get_extra_info("peername"))
        self.scope = stream_scope("tls", self.stats.port, ip)
        self.stats.connections += 1
        self.receiver.adopt(self)

    def data_received(self, data: bytes) -> None:
        """Spool the complete frames received so far."""
        self.buffer += data
        frames, used = self.framer.split(bytes(self.buffer))
        self._spool(frames)
        del self.buffer[:used]
        if not self.receiver.spool.has_room(PEEK_BYTES):
            self.receiver.hold(self)

    def connection_lost(self, exc: Exception | None) -> None:
        """Keep a last unterminated frame."""
        self._spool(self.framer.finish(bytes(self.buffer)))
        self.buffer.clear()
        self.stats.connections -= 1
        self.receiver.forget(self)

    def _spool(self, frames: list[Frame]) -> None:
        if frames:
            header = {"t": time.time(), "p": self.peer, "l": self.stats.name, "s": self.scope}
            entry, count = _entry(frames, self.repeats, header)
            self.receiver.append(self.stats.source, entry)
            self.stats.count(count)

    def pause(self) -> None:
        """Stop reading while the spool is full."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read again."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def drain(self) -> None:
        """Nothing is held back: TLS frames are spooled as they arrive."""

    def close(self) -> None:
        """Close the connection."""
        if self.transport is not None:
            self.transport.close()


class DatagramProtocol(asyncio.DatagramProtocol):
    """Syslog over UDP: one record per datagram; a datagram that does not fit in the spool is dropped and counted."""

    def __init__(self, receiver: Host, stats: ListenerStats) -> None:
        self.receiver = receiver
        self.stats = stats
        self.number = 0
        self.pending: list[bytes] = []
        self.pending_records = 0
        self.pending_bytes = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Queue the datagram for this loop iteration's write, or drop it when the spool is full."""
        message = data.rstrip(b"\r\n\x00")
        if not message.strip():
            return
        self.stats.received += 1
        if not self.receiver.spool.has_room(self.pending_bytes + len(data) + 512):
            self.stats.dropped += 1
            return
        self.number += 1
        _ip, peer = peer_text(addr)
        header = {
            "t": time.time(),
            "p": peer,
            "l": self.stats.name,
            "s": datagram_scope(self.stats.port, self.receiver.run, self.number),
            "n": 1,
        }
        entry = encode_entry(MESSAGES, header, pack_messages([message]))
        if not self.pending:
            self.receiver.loop.call_soon(self.flush)
        self.pending.append(entry)
        self.pending_records += 1
        self.pending_bytes += len(entry)

    def flush(self) -> None:
        """Append the datagrams queued in this loop iteration with one write."""
        if not self.pending:
            return
        self.receiver.append(self.stats.source, b"".join(self.pending))
        self.stats.spooled += self.pending_records
        self.pending.clear()
        self.pending_records = 0
        self.pending_bytes = 0

    def error_received(self, exc: Exception) -> None:
        """Log socket errors (e.g. ICMP port unreachable relayed by the kernel)."""
        log.debug("udp error on %s: %s", self.stats.name, exc)
