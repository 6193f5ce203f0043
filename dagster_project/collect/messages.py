"""What every syslog transport shares: the sender's address as text, and framed messages as one spool entry."""

from __future__ import annotations

from typing import Any

from dagster_project.collect.framing import Frame
from dagster_project.collect.spool import MESSAGES, encode_entry, pack_messages
from dagster_project.ingest.ids import RepeatCounter


def peer_text(address: Any) -> tuple[str, str]:
    """(ip, "ip:port") of a socket address; IPv4-mapped IPv6 addresses are shown as IPv4."""
    host, port = str(address[0]), address[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def message_entry(frames: list[Frame], repeats: RepeatCounter, header: dict[str, Any]) -> tuple[bytes, int]:
    """A MESSAGES entry for `frames` (identical messages counted per connection) and its record count."""
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
