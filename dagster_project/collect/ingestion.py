"""Sealed spool segments through the one ingestion pipeline; a segment is retired only after its run reconciled.

Each segment is a record stream (`ingest.streams.RecordStream`): syslog messages become one record each,
HTTP bodies are read by the source's own reader as a file would be. Ids come from the scope and occurrence
the receiver stored (`collect.identity`); every event also gets the sender's address (`log.source.address`)
and the time of receipt (`event.created`). A syslog message for a source whose parser does not read syslog
(web access lines sent with `logger`, say) is unwrapped first: the source's parser gets the MSG part, the
event keeps the header's `log.syslog` and `host` fields, and the id's scope takes a digest of the whole
message (two messages with the same MSG but different headers stay two events; a resend stays one).
Beyond the pipeline's own reconciliation (read = indexed + quarantined + duplicates), a batch checks that
it read exactly what the receiver acknowledged; only then are its segments deleted (or archived) and the
source's ledger updated.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from dagster_project import searches
from dagster_project.collect.spool import (
    MESSAGES,
    Segment,
    add_to_ledger,
    find_segment,
    read_entries,
    retire,
    unpack_messages,
)
from dagster_project.errors import ReconciliationError
from dagster_project.ingest.pipeline import IngestSummary, ingest
from dagster_project.settings import RetentionSettings
from dagster_project.sources.base import RawRecord, SourceContext, SourceParser
from dagster_project.sources.registry import source_spec
from dagster_project.sources.syslog import SyslogParser
from dagster_project.storage.naming import events_pattern

log = logging.getLogger(__name__)


def decode(data: bytes) -> tuple[str, str | None]:
    """A received message as text (UTF-8, else latin-1, as files are read) and a reject reason for NUL bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        return text.replace("\x00", "\\x00"), "binary data (NUL bytes)"
    return text, None


class SegmentStream:
    """A sealed segment read as one input: records in the order received, ids as the receiver fixed them."""

    def __init__(self, segment: Segment, *, unwrap_syslog: bool = False) -> None:
        self.segment = segment
        self.unwrap_syslog = unwrap_syslog
        """Hand the source's parser the MSG of each syslog message, not the whole line (module docstring)."""
        self.label = segment.label
        stat = segment.path.stat()
        self.size = stat.st_size
        self._mtime = stat.st_mtime
        self.acknowledged = 0
        """Records the receiver counted (and acknowledged) in the entries read so far."""
        self._scope = ""
        self._occurrence = 0
        self._header: dict[str, Any] = {}
        self._position = 0
        self._syslog = SyslogParser(datetime.fromtimestamp(self._mtime, UTC))
        self._wrapper: dict[str, Any] = {}
        """The syslog header fields of the current record, when it was unwrapped."""
        self._digest = ""

    def context(self) -> SourceContext:
        """The segment's label and last write (the RFC 3164 year rule's reference: records arrived before it)."""
        return SourceContext(path=self.label, reference_time=datetime.fromtimestamp(self._mtime, UTC))

    def records(self, parser: SourceParser) -> Iterator[RawRecord]:
        """One record per syslog message; HTTP bodies through the source's reader."""
        line = 0
        for entry in read_entries(self.segment.path):
            self._header = entry.header
            self._scope = str(entry.header.get("s", ""))
            self._position = entry.end
            self.acknowledged += entry.records
            if entry.kind == MESSAGES:
                occurrences = dict(entry.header.get("o", []))
                errors = dict(entry.header.get("x", []))
                for index, message in enumerate(unpack_messages(entry.payload)):
                    line += 1
                    self._occurrence = occurrences.get(index, 0)
                    text, problem = decode(message)
                    if self.unwrap_syslog and problem is None:
                        text = self._unwrap(text)
                    yield RawRecord(line, entry.offset, text, error=errors.get(index) or problem)
            else:
                self._wrapper = {}
                for index, record in enumerate(parser.records(io.BytesIO(entry.payload), self.label)):
                    line += 1
                    self._occurrence = index
                    yield RawRecord(line, entry.offset, record.text, error=record.error)

    def _unwrap(self, text: str) -> str:
        """The MSG of a syslog message (its header fields kept for `annotate`); other text as it is."""
        parsed = self._syslog.parse(text)
        if isinstance(parsed, str):
            self._wrapper = {}
            return text
        _timestamp, fields, _program = parsed
        self._wrapper = fields
        self._digest = hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
        return str(fields["message"])

    def identity(self, record: RawRecord, original: str) -> tuple[str, int]:
        """The scope and occurrence the receiver stored for the current record (with the header's digest)."""
        if self._wrapper:
            return f"{self._scope}/{self._digest}", self._occurrence
        return self._scope, self._occurrence

    def annotate(self, doc: dict[str, Any], record: RawRecord) -> None:
        """The sender's address and the time of receipt (and an unwrapped syslog header's fields)."""
        if self._wrapper:
            syslog = self._wrapper.get("log", {}).get("syslog")
            if syslog:
                doc.setdefault("log", {}).setdefault("syslog", syslog)
            if "host" in self._wrapper:
                doc.setdefault("host", self._wrapper["host"])
        peer = self._header.get("p")
        if peer:
            doc.setdefault("log", {})["source"] = {"address": peer}
        received = self._header.get("t")
        if received is not None:
            stamp = datetime.fromtimestamp(float(received), UTC).isoformat(timespec="milliseconds")
            doc["event"]["created"] = stamp.replace("+00:00", "Z")

    def position(self) -> int:
        """Bytes of the segment read so far."""
        return self._position

    def trailing_error(self) -> str | None:
        """Sealed segments hold whole entries only."""
        return None


@dataclass
class SpoolBatch:
    """The outcome of ingesting a batch of sealed segments of one source."""

    source: str
    segments: list[str]
    labels: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    """Segments a previous run ingested and retired (a relaunched run skips them)."""
    acknowledged: int = 0
    summary: IngestSummary | None = None

    def as_json(self) -> dict[str, Any]:
        """Counts for run metadata and the CLI."""
        summary = self.summary or IngestSummary(source=self.source)
        return {
            "source": self.source,
            "segments": self.segments,
            "already_gone": self.already_gone,
            "acknowledged": self.acknowledged,
            **{k: v for k, v in summary.as_json().items() if k not in ("source", "files")},
        }


def ingest_segments(
    client: OpenSearch,
    root: Path,
    segment_ids: list[str],
    *,
    archive: Path | None = None,
    retention: RetentionSettings | None = None,
    partition: str | None = None,
) -> SpoolBatch:
    """Ingest sealed segments of one source, check they reconcile with what was acknowledged, then retire them."""
    sources = {segment_id.rpartition("-")[0] for segment_id in segment_ids}
    if len(sources) != 1:
        raise ReconciliationError(f"a batch holds one source's segments, got {sorted(sources)}", where=str(root))
    (source,) = sources
    batch = SpoolBatch(source=source, segments=list(segment_ids))
    present: list[Segment] = []
    for segment_id in segment_ids:
        segment = find_segment(root, segment_id)
        if segment is None:
            batch.already_gone.append(segment_id)
        else:
            present.append(segment)
    if not present:
        batch.summary = IngestSummary(source=source)
        return batch
    unwrap = not source_spec(source).syslog
    streams = [SegmentStream(segment, unwrap_syslog=unwrap) for segment in present]
    batch.labels = [stream.label for stream in streams]
    batch.summary = ingest(client, source, streams=streams, retention=retention, refresh=True, partition=partition)
    batch.acknowledged = sum(stream.acknowledged for stream in streams)
    if batch.summary.read != batch.acknowledged:
        raise ReconciliationError(
            f"read {batch.summary.read} records but the receiver acknowledged {batch.acknowledged}",
            where=", ".join(s.id for s in present),
        )
    for segment in present:
        retire(segment, archive)
    add_to_ledger(
        root,
        source,
        {
            "segments": len(present),
            "ingested": batch.summary.indexed,
            "quarantined": batch.summary.quarantined,
            "duplicates": batch.summary.duplicates,
        },
    )
    log.info("spool batch %s: %s", source, batch.as_json())
    return batch


def event_spans(client: OpenSearch, source: str, labels: list[str]) -> list[tuple[datetime, datetime]]:
    """Per event day, the first and last event time among the events of these segments (what detection covers)."""
    if not labels:
        return []
    found = searches.search(
        client,
        f"event spans of {source}",
        index=events_pattern(source),
        body={
            "size": 0,
            "query": {"terms": {"siem.file": labels}},
            "aggs": {
                "days": {
                    "date_histogram": {"field": "@timestamp", "calendar_interval": "day", "min_doc_count": 1},
                    "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}},
                }
            },
        },
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    buckets = ((found.get("aggregations") or {}).get("days") or {}).get("buckets", [])
    return [
        (
            datetime.fromtimestamp(bucket["first"]["value"] / 1000, UTC),
            datetime.fromtimestamp(bucket["last"]["value"] / 1000, UTC),
        )
        for bucket in buckets
    ]
