"""What a listener sees of the receiver that runs it: the counters it keeps and the calls it makes.

The listeners (`collect.tcp`, `collect.tls_stream`, `collect.udp`, `collect.http`) are written against
this protocol, not the receiver module, so the receiver can import them without a cycle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dagster_project.collect.config import ReceiverConfig
from dagster_project.collect.spool import SpoolWriter


@dataclass
class ListenerStats:
    """Counters of one listener (cumulative across receiver restarts)."""

    name: str
    transport: str
    address: str
    port: int
    source: str
    received: int = 0
    """Records read off the wire (UDP: datagrams, including dropped ones)."""
    spooled: int = 0
    """Records appended to the spool (acknowledged)."""
    dropped: int = 0
    """UDP datagrams dropped because the spool was full."""
    refused: int = 0
    """HTTP requests answered with an error."""
    connections: int = 0

    def count(self, records: int) -> None:
        """Records received and spooled at once (stream transports)."""
        self.received += records
        self.spooled += records


class Host(Protocol):
    """The receiver, as its listeners use it."""

    config: ReceiverConfig
    root: Path
    """The spool directory."""
    spool: SpoolWriter
    run: str
    """This receiver process's id (UDP datagram scopes)."""
    keys: dict[tuple[str, str], tuple[int, str]]
    """Idempotency keys seen: (source, key) -> (records accepted, body digest)."""
    loop: asyncio.AbstractEventLoop

    def append(self, source: str, data: bytes) -> None:
        """Append encoded entries to the source's open segment."""
        ...

    async def durable(self) -> None:
        """Wait until everything appended so far is fsynced."""
        ...

    def hold(self, connection: Any) -> None:
        """Stop reading a connection until the spool has room again."""
        ...

    def adopt(self, connection: Any) -> None:
        """Track a new connection."""
        ...

    def forget(self, connection: Any) -> None:
        """A connection ended."""
        ...

    def park(self, conn_id: str, sock: Any) -> None:
        """Hand a duplicate of a new TCP connection to the supervisor."""
        ...
