"""`POST /v1/logs/<source>`: a batch of records in the source's own format, acknowledged once it is durable.

Answers: 200 `{"accepted": N}` only after the batch is in the spool and fsynced (per SIEM_SPOOL_FSYNC);
400 for an unknown source or an unreadable body (bad Content-Encoding, no records, a reader failure),
with nothing kept; 401 without and 403 with a wrong bearer token (when SIEM_HTTP_TOKEN is set); 413 over
SIEM_HTTP_MAX_BODY_BYTES (decompressed); 422 when an Idempotency-Key comes back with a different body;
503 with Retry-After while the spool is full. A batch retried with the same `Idempotency-Key` is
answered 200 again (`"duplicate": true`) and not spooled twice; its records' ids are the same anyway
(`collect.identity`), so even a key forgotten across a restart indexes nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import math
import time
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from dagster_project.collect.host import Host, ListenerStats
from dagster_project.collect.identity import batch_scope
from dagster_project.collect.messages import peer_text
from dagster_project.collect.spool import STREAM, encode_entry
from dagster_project.sources.base import SourceContext
from dagster_project.sources.registry import parser_factory, source_names

ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
MAX_KEY_LENGTH = 255


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def count_records(source: str, body: bytes) -> int:
    """How many records the source's own reader finds in a body (what ingestion will read)."""
    parser = parser_factory(source)(SourceContext(path="http", reference_time=datetime.now(UTC)))
    return sum(1 for _ in parser.records(io.BytesIO(body), "http"))


class LogsEndpoint:
    """The request handler, bound to one receiver and its HTTP listener's counters."""

    def __init__(self, receiver: Host, stats: ListenerStats, token: str) -> None:
        self.receiver = receiver
        self.stats = stats
        self.token = token
        self.sources = frozenset(source_names())
        self.inflight: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def post(self, request: web.Request) -> web.Response:
        """Authenticate, validate, spool durably, answer."""
        refused = self._authenticate(request)
        if refused is not None:
            self.stats.refused += 1
            return refused
        response = await self._accept(request)
        if response.status != 200:
            self.stats.refused += 1
        return response

    def _authenticate(self, request: web.Request) -> web.Response | None:
        if not self.token:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return _error(401, "bearer token required", **{"WWW-Authenticate": 'Bearer realm="siem"'})
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return _error(403, "wrong token")
        return None

    async def _accept(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        if source not in self.sources:
            return _error(400, f"unknown source {source!r} (known: {', '.join(sorted(self.sources))})")
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ENCODINGS:
            return _error(400, f"unsupported Content-Encoding {encoding!r} (gzip or none)")
        key = request.headers.get("Idempotency-Key")
        if key is not None and (not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable()):
            return _error(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"body larger than {self.receiver.config.collect.http_max_body_bytes} bytes")
        except (HttpProcessingError, RequestPayloadError, ValueError, OSError) as exc:
            return _error(400, f"unreadable body: {exc}")
        digest = hashlib.sha256(body).hexdigest()
        if key is not None:
            done = await self._settled(source, key, digest)
            if done is not None:
                return done
        try:
            records = count_records(source, body)
        except Exception as exc:  # noqa: BLE001  (a reader failure means the body is unreadable: refuse, keep nothing)
            return _error(400, f"unreadable body: {type(exc).__name__}: {exc}")
        if records == 0:
            return _error(400, "no records in the body")
        _ip, peer = peer_text(request.transport.get_extra_info("peername") if request.transport else ("", 0))
        header = {"t": time.time(), "p": peer, "l": self.stats.name, "s": batch_scope(key, body), "n": records}
        if key is not None:
            header |= {"k": key, "h": digest}
        entry = encode_entry(STREAM, header, body)
        self.stats.received += records
        if not self.receiver.spool.has_room(len(entry)):
            retry = max(1, math.ceil(self.receiver.config.spool.segment_seconds))
            return _error(503, "spool full, retry later", **{"Retry-After": str(retry)})
        slot = (source, key) if key is not None else None
        if slot is not None:
            self.inflight[slot] = asyncio.get_running_loop().create_future()
        try:
            self.receiver.append(source, entry)
            await self.receiver.durable()
            if slot is not None:
                self.receiver.keys[slot] = (records, digest)
        finally:
            if slot is not None:
                waiter = self.inflight.pop(slot)
                waiter.set_result(None)
        self.stats.spooled += records
        return web.json_response({"accepted": records})

    async def _settled(self, source: str, key: str, digest: str) -> web.Response | None:
        """The answer to a batch whose key was seen (waiting for one still being written), else None."""
        pending = self.inflight.get((source, key))
        if pending is not None:
            await asyncio.shield(pending)
        seen = self.receiver.keys.get((source, key))
        if seen is None:
            return None
        records, previous = seen
        if previous != digest:
            return _error(422, "Idempotency-Key already used for a different body")
        return web.json_response({"accepted": records, "duplicate": True})


def application(endpoint: LogsEndpoint, max_body: int) -> web.Application:
    """The aiohttp application: one route."""
    app = web.Application(client_max_size=max_body)
    app.router.add_post("/v1/logs/{source}", endpoint.post)
    return app
