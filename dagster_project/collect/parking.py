"""TCP connections that outlive a receiver crash: the supervisor keeps a duplicate of each one.

Plain TCP syslog has no acknowledgements, so bytes a sender wrote are lost if the socket that holds them is
closed. The receiver therefore never takes bytes off a connection before they are accounted for on disk
(`collect.tcp`: complete frames in the spool, the partial frame after them in the connection's cursor),
and only then consumes what it peeked. And it hands every accepted connection to the supervisor
(SCM_RIGHTS over a Unix socket), which holds a duplicate: when the receiver dies, the connection stays
open with its unread bytes in the kernel, and the next receiver adopts it.
Where to resume is known exactly: the kernel counts the bytes received on a connection (TCP_INFO
`tcpi_bytes_received`) and those not yet read (FIONREAD), so the consumed offset is their difference; any
bytes between it and the cursor were accounted for but not consumed when the receiver died, and are
skipped.
"""

from __future__ import annotations

import array
import fcntl
import json
import socket
import struct
import termios
from typing import Any

TCP_INFO_LENGTH = 232
_BYTES_RECEIVED_AT = 128
"""Offset of `tcpi_bytes_received` (u64) in Linux's struct tcp_info (since Linux 4.1)."""
_CLOSING_STATES = frozenset({7, 8, 9, 11})
"""TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING: the peer will send nothing more."""
MAX_MESSAGE = 4096


def unread_bytes(sock: socket.socket) -> int:
    """Bytes waiting in the connection's receive buffer (FIONREAD)."""
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def consumed_offset(sock: socket.socket) -> int:
    """Bytes of the stream already read by whoever held the connection: received minus unread."""
    while True:
        before = unread_bytes(sock)
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LENGTH)
        after = unread_bytes(sock)
        if before == after:  # nothing arrived between the two reads: the pair is consistent
            (received,) = struct.unpack_from("<Q", info, _BYTES_RECEIVED_AT)
            return int(received) - after


def peer_closed(sock: socket.socket) -> bool:
    """True when the peer has closed its side (what is buffered is all there will be)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LENGTH)
    return info[0] in _CLOSING_STATES


class ParkingClient:
    """The receiver's end of the channel: park each accepted connection, release it once closed."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel

    def park(self, conn_id: str, sock: socket.socket) -> None:
        """Give the supervisor a duplicate of `sock`."""
        socket.send_fds(self.channel, [json.dumps({"park": conn_id}).encode()], [sock.fileno()])

    def release(self, conn_id: str) -> None:
        """Tell the supervisor to close its duplicate (the connection is finished)."""
        self.channel.send(json.dumps({"release": conn_id}).encode())


class ParkingLot:
    """The supervisor's end: the parked connections, handed to the next receiver when one dies."""

    def __init__(self) -> None:
        self.receiver_end, self.channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.receiver_end.set_inheritable(True)
        self.channel.setblocking(False)
        self.parked: dict[str, socket.socket] = {}

    def handle(self) -> None:
        """Take every message waiting on the channel."""
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.channel, MAX_MESSAGE, 4)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            message: dict[str, Any] = json.loads(data)
            if "park" in message:
                for fd in fds:
                    self.parked[message["park"]] = socket.socket(fileno=fd)
            elif "release" in message:
                held = self.parked.pop(message["release"], None)
                if held is not None:
                    held.close()

    def inherited(self) -> dict[str, socket.socket]:
        """The parked connections, made inheritable for the next receiver."""
        self.handle()
        for sock in self.parked.values():
            sock.set_inheritable(True)
        return dict(self.parked)

    def close(self) -> None:
        """Close every duplicate and the channel."""
        for sock in self.parked.values():
            sock.close()
        self.parked.clear()
        self.channel.close()
        self.receiver_end.close()
