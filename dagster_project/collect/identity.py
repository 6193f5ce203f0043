"""How received records get their document ids: a scope (where and how they came) plus an occurrence number.

An event's id is SHA-256(source, raw record, occurrence, scope) (`ingest.ids.event_id`); the receiver
fixes scope and occurrence when it spools a record, so re-ingesting a segment after a crash gives the
same ids and indexes nothing twice. What each transport needs:

* TCP and TLS syslog: scope ``<transport>:<port>:<sender ip>``; the occurrence counts identical messages
  *within one connection*. A sender that lost its connection resends its unacknowledged batch on a new
  connection, where counting starts again: the resent messages get the ids they had, and are duplicates.
  Identical messages within one connection (two "Connection closed" in one second) stay separate events.
  The trade-off: a message identical to one sent on an earlier connection, from the same host to the same
  port, counts as a resend (a real repeat must then differ in its timestamp, pid or text, as it does).
* UDP syslog: a sender never resends a datagram, so every datagram is its own event: scope
  ``udp:<port>:<receiver run>:<datagram number>``.
* HTTP: a batch is the unit a client retries. Scope ``http:key:<Idempotency-Key>`` when the client sends
  one, else ``http:sha256:<digest of the body>``; the occurrence is the record's position in the batch.
  A retried batch (same key, or byte-identical body) maps to the same ids; identical lines within a batch,
  or in two different batches, are separate events.
"""

from __future__ import annotations

import hashlib


def stream_scope(transport: str, port: int, peer_ip: str) -> str:
    """The scope of messages received over a TCP or TLS connection."""
    return f"{transport}:{port}:{peer_ip}"


def datagram_scope(port: int, run: str, number: int) -> str:
    """The scope of one UDP datagram: unique to it."""
    return f"udp:{port}:{run}:{number}"


def batch_scope(key: str | None, body: bytes) -> str:
    """The scope of an HTTP batch: its Idempotency-Key, else its content."""
    if key:
        return f"http:key:{key}"
    return f"http:sha256:{hashlib.sha256(body).hexdigest()}"
