"""Syslog over plain TCP: peek, spool the complete frames, save the cursor, then consume what was peeked.

Nothing leaves the kernel before it is accounted for on disk: complete frames in a spool entry (tagged with
the stream offset they reach), the partial frame after them in the connection's cursor (`collect.cursor`).
The whole peek is consumed every time, so no partial frame is ever left in the kernel to close the TCP
window. When the spool is full the connection stops being read and TCP's window pushes back on the sender.

Every accepted connection is parked with the supervisor (`collect.parking`), so it outlives a receiver
crash; the receiver that adopts it compares the bytes the kernel says were consumed with the cursor and
the spool: bytes spooled but not yet consumed are skipped, and a read spooled before its cursor was saved
is framed again without being spooled twice. A graceful stop half-closes every connection (the sender
sees the end and stops sending), reads until the sender closes or a deadline passes, and spools a frame
cut short by the close as a rejected record: nothing that was read is lost.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Iterable

from dagster_project.collect.cursor import Cursor, CursorFile
from dagster_project.collect.framing import Frame, Framer
from dagster_project.collect.host import Host, ListenerStats
from dagster_project.collect.identity import stream_scope
from dagster_project.collect.messages import message_entry, peer_text
from dagster_project.collect.parking import consumed_offset
from dagster_project.ingest.ids import RepeatCounter

log = logging.getLogger(__name__)

PEEK_BYTES = 256 * 1024
READS_PER_WAKEUP = 8
"""Reads per readiness callback while data keeps coming (fewer trips through the event loop)."""


class StreamConnection:
    """One plain TCP connection and where its byte stream stands."""

    def __init__(
        self,
        host: Host,
        stats: ListenerStats,
        sock: socket.socket,
        conn_id: str,
        *,
        start: Cursor | None = None,
        skip: int = 0,
        replay: int = 0,
        history: Iterable[bytes] = (),
    ) -> None:
        self.host = host
        self.stats = stats
        self.sock = sock
        self.conn_id = conn_id
        self.cursor = CursorFile(host.root, conn_id)
        start = start or Cursor()
        self.offset = start.offset
        """Stream bytes accounted for (spooled, or in `carry`)."""
        self.carry = start.carry
        """The partial frame after the last spooled one (already consumed from the kernel)."""
        self.framer = Framer()
        self.framer.restore(start.framer)
        self.skip = skip
        """Bytes accounted for but not yet consumed (a receiver died between the two)."""
        self.replay = replay
        """Bytes to frame again without spooling (a receiver died between spooling them and saving the cursor)."""
        self.repeats = RepeatCounter()
        for message in history:
            self.repeats.occurrence(message)
        ip, self.peer = peer_text(sock.getpeername())
        self.scope = stream_scope("tcp", stats.port, ip)
        self.reading = False
        self.stopping = False
        self.closed = False
        sock.setblocking(False)
        if start.offset == 0 and not skip and not replay:
            self.cursor.save(0, b"", self.framer.state())
        stats.connections += 1
        self.resume()

    def resume(self) -> None:
        """Start (or restart) reading."""
        if not self.reading and not self.closed:
            self.host.loop.add_reader(self.sock.fileno(), self.on_readable)
            self.reading = True

    def pause(self) -> None:
        """Stop reading: the kernel's buffer fills and TCP stops the sender."""
        if self.reading:
            self.host.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def on_readable(self) -> None:
        """Take what is waiting on the socket (a few reads while it keeps coming)."""
        for _ in range(READS_PER_WAKEUP):
            if not self.read_once() or self.closed:
                return

    def read_once(self, *, capped: bool = True) -> bool:
        """Peek, account for and consume one chunk; False when nothing more can be read now."""
        try:
            if self.skip:
                self._consume(self.skip)
                self.skip = 0
            if self.replay:
                data = self.sock.recv(min(self.replay, PEEK_BYTES), socket.MSG_PEEK)
            else:
                if capped and not self.host.spool.has_room(PEEK_BYTES + len(self.carry)):
                    self.host.hold(self)
                    return False
                data = self.sock.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            log.info("connection from %s failed: %s", self.peer, exc)
            self.finish()
            return False
        if not data:
            self.finish()
            return False
        replaying = self.replay > 0
        self._take(data, spool=not replaying)
        if replaying:
            self.replay -= len(data)
        return len(data) == PEEK_BYTES or self.replay > 0

    def _take(self, data: bytes, *, spool: bool) -> None:
        buffer = self.carry + data if self.carry else data
        frames, used = self.framer.split(buffer)
        end = self.offset + len(data)
        if frames and spool:
            self._spool(frames, end)
        self.carry = buffer[used:]
        self.cursor.save(end, self.carry, self.framer.state())
        self._consume(len(data))
        self.offset = end

    def _spool(self, frames: list[Frame], end: int) -> None:
        header = {"t": time.time(), "p": self.peer, "l": self.stats.name, "s": self.scope, "c": self.conn_id, "e": end}
        entry, count = message_entry(frames, self.repeats, header)
        self.host.append(self.stats.source, entry)
        self.stats.count(count)

    def _consume(self, count: int) -> None:
        scratch = bytearray(min(count, PEEK_BYTES))
        while count > 0:
            got = self.sock.recv_into(scratch, min(count, len(scratch)))
            if got == 0:
                return
            count -= got

    def begin_stop(self) -> None:
        """Half-close: the sender sees the end of the stream and stops sending; keep reading what it sent."""
        self.stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
        self.resume()

    def drain(self) -> None:
        """Spool everything the kernel holds for this connection, over the cap if need be (on shutdown)."""
        while not self.closed and self.read_once(capped=False):
            pass

    def finish(self) -> None:
        """The stream ended (or the receiver stops): spool a frame cut short by the end, then close for good."""
        if self.closed:
            return
        rest = self.framer.finish(self.carry)
        if rest:
            self._spool(rest, self.offset)
        self.carry = b""
        self.close()

    def close(self) -> None:
        """Close the connection for good (the supervisor's duplicate too) and forget its cursor."""
        if self.closed:
            return
        self.pause()
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # acts on the supervisor's duplicate too
        self.sock.close()
        self.cursor.remove()
        self.stats.connections -= 1
        self.host.forget(self)

    def detach(self) -> None:
        """Let go of the connection without ending it (it stays parked with the supervisor)."""
        if not self.closed:
            self.pause()
            self.closed = True
            self.sock.close()
            self.cursor.close()


class TcpListener:
    """Accepts plain TCP connections on a listening socket and parks each with the supervisor."""

    def __init__(self, host: Host, stats: ListenerStats, sock: socket.socket) -> None:
        self.host = host
        self.stats = stats
        self.sock = sock
        sock.setblocking(False)
        host.loop.add_reader(sock.fileno(), self.on_accept)

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
            self.host.park(conn_id, conn)
            self.host.adopt(StreamConnection(self.host, self.stats, conn, conn_id))

    def close(self) -> None:
        """Stop accepting: take the connections already waiting, then close the listening socket.

        A sender that reconnects while the receiver stops is then refused (and retries later) rather than
        queued on a socket that is about to close and reset everything it sent.
        """
        self.on_accept()
        self.host.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def resume_connection(
    host: Host,
    stats: ListenerStats,
    sock: socket.socket,
    conn_id: str,
    spooled_end: int | None,
    history: list[bytes],
) -> StreamConnection:
    """Adopt a connection a previous receiver held, going on exactly where its cursor and the spool stand."""
    consumed = consumed_offset(sock)
    saved = CursorFile(host.root, conn_id)
    start = saved.load() or Cursor()
    saved.close()
    skip = replay = 0
    if spooled_end is not None and spooled_end > start.offset:
        replay = spooled_end - start.offset  # spooled, cursor not saved: still in the kernel, frame it again
        if consumed != start.offset:
            log.error("connection %s: consumed %d, cursor at %d: bytes were lost", conn_id, consumed, start.offset)
    elif consumed < start.offset:
        skip = start.offset - consumed
    elif consumed > start.offset:
        log.error("connection %s: consumed %d, cursor at %d: bytes were lost", conn_id, consumed, start.offset)
    log.info(
        "resuming connection %s at byte %d (skip %d, frame again %d, partial frame %d bytes)",
        conn_id,
        start.offset,
        skip,
        replay,
        len(start.carry),
    )
    return StreamConnection(host, stats, sock, conn_id, start=start, skip=skip, replay=replay, history=history)
