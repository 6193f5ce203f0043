"""Syslog over TLS (RFC 5425): frames are spooled as soon as they are decrypted; reading pauses while the spool is full.

TLS is decrypted in this process, so its session cannot be parked with the supervisor the way a plain TCP
connection is: a receiver crash ends every TLS connection, and what was in flight on them (in the kernel's
buffers, or decrypted but not yet framed) is gone with it. This kernel has no kernel TLS (CONFIG_TLS), the
one way to hand a live session to another process. A graceful stop loses nothing that was read: it
half-closes the TCP connection under the session (the sender sees the end and stops sending), goes on
decrypting and spooling until the sender closes or a deadline passes, and spools a frame cut short by the
end as a rejected record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

from dagster_project.collect.framing import Frame, Framer
from dagster_project.collect.host import Host, ListenerStats
from dagster_project.collect.identity import stream_scope
from dagster_project.collect.messages import message_entry, peer_text
from dagster_project.ingest.ids import RepeatCounter

log = logging.getLogger(__name__)

ROOM_BYTES = 256 * 1024
"""Spool room a connection needs to go on reading (about what one read can decrypt)."""


class TlsConnection(asyncio.Protocol):
    """One TLS connection."""

    def __init__(self, host: Host, stats: ListenerStats) -> None:
        self.host = host
        self.stats = stats
        self.framer = Framer()
        self.repeats = RepeatCounter()
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.scope = ""
        self.stopping = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Note the peer."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ip, self.peer = peer_text(transport.get_extra_info("peername"))
        self.scope = stream_scope("tls", self.stats.port, ip)
        self.stats.connections += 1
        self.host.adopt(self)

    def data_received(self, data: bytes) -> None:
        """Spool the complete frames decrypted so far; keep the partial one."""
        buffer = self.buffer + data if self.buffer else data
        frames, used = self.framer.split(buffer)
        self._spool(frames)
        self.buffer = buffer[used:]
        if not self.stopping and not self.host.spool.has_room(ROOM_BYTES + len(self.buffer)):
            self.host.hold(self)

    def eof_received(self) -> bool:
        """The sender closed its side: close ours."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Spool a last frame cut short by the end."""
        self._spool(self.framer.finish(self.buffer))
        self.buffer = b""
        self.stats.connections -= 1
        self.host.forget(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def _spool(self, frames: list[Frame]) -> None:
        if frames:
            header = {"t": time.time(), "p": self.peer, "l": self.stats.name, "s": self.scope}
            entry, count = message_entry(frames, self.repeats, header)
            self.host.append(self.stats.source, entry)
            self.stats.count(count)

    def pause(self) -> None:
        """Stop reading while the spool is full."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read again."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def begin_stop(self) -> None:
        """Half-close the TCP connection under the session; go on reading (over the cap) what the sender sent."""
        self.stopping = True
        self.resume()
        raw = self.transport.get_extra_info("socket") if self.transport is not None else None
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_WR)

    def drain(self) -> None:
        """Nothing is held back: frames are spooled as they are decrypted."""

    def finish(self) -> None:
        """End the connection now (the stop's deadline passed); `connection_lost` spools a cut-short frame."""
        if self.transport is not None:
            self.transport.abort()
