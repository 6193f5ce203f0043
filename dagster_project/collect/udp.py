"""Syslog over UDP: one record per datagram; a datagram that does not fit in the spool is dropped and counted.

UDP cannot push back on a sender, and a sender never resends a datagram, so every datagram is its own
event (`collect.identity.datagram_scope`). Datagrams received in one loop iteration are appended with one
write. On a graceful stop the socket's queue is read to the end first, so nothing the kernel took is lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from dagster_project.collect.host import Host, ListenerStats
from dagster_project.collect.identity import datagram_scope
from dagster_project.collect.messages import peer_text
from dagster_project.collect.spool import MESSAGES, encode_entry, pack_messages

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65_535
ENTRY_OVERHEAD = 512
"""Bytes an entry's headers may add to a datagram (room checks)."""


class DatagramListener(asyncio.DatagramProtocol):
    """The UDP listener's protocol."""

    def __init__(self, host: Host, stats: ListenerStats, sock: socket.socket) -> None:
        self.host = host
        self.stats = stats
        self.sock = sock
        self.number = 0
        self.pending: list[bytes] = []
        self.pending_records = 0
        self.pending_bytes = 0

    def datagram_received(self, data: bytes, addr: Any, *, capped: bool = True) -> None:
        """Queue the datagram for this loop iteration's write, or drop it when the spool is full."""
        message = data.rstrip(b"\r\n\x00")
        if not message.strip():
            return
        self.stats.received += 1
        if capped and not self.host.spool.has_room(self.pending_bytes + len(data) + ENTRY_OVERHEAD):
            self.stats.dropped += 1
            return
        self.number += 1
        _ip, peer = peer_text(addr)
        header = {
            "t": time.time(),
            "p": peer,
            "l": self.stats.name,
            "s": datagram_scope(self.stats.port, self.host.run, self.number),
            "n": 1,
        }
        entry = encode_entry(MESSAGES, header, pack_messages([message]))
        if not self.pending:
            self.host.loop.call_soon(self.flush)
        self.pending.append(entry)
        self.pending_records += 1
        self.pending_bytes += len(entry)

    def flush(self) -> None:
        """Append the datagrams queued in this loop iteration with one write."""
        if not self.pending:
            return
        self.host.append(self.stats.source, b"".join(self.pending))
        self.stats.spooled += self.pending_records
        self.pending.clear()
        self.pending_records = 0
        self.pending_bytes = 0

    def drain(self) -> None:
        """Spool every datagram still queued in the kernel, over the cap if need be (on shutdown)."""
        while True:
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("draining %s: %s", self.stats.name, exc)
                break
            self.datagram_received(data, addr, capped=False)
        self.flush()

    def error_received(self, exc: Exception) -> None:
        """Log socket errors (e.g. ICMP port unreachable relayed by the kernel)."""
        log.debug("udp error on %s: %s", self.stats.name, exc)
