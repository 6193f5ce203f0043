"""One ingestion run: stream files through a source's parser into OpenSearch, quarantine rejects, reconcile.

Blocking; bulk writes are retried as `dagster_project.retries` states (the `retry` argument), and a chunk
that still fails ends the run with an IngestError. Every record read ends in exactly one of
indexed / quarantined / duplicates, and a run whose counts do not add up raises ReconciliationError.
Records are parsed and their documents built a few blocks ahead, in a thread (`ingest.prefetch`), while
the previous chunk is being indexed, and `BULK_IN_FLIGHT` bulk requests are sent side by side
(`ingest.inflight`); the results are counted in the calling thread. The threads share only `pending` (the
documents in flight, under a lock).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from dagster_project.errors import IngestError, ReconciliationError
from dagster_project.ingest.ids import content_hash, event_id
from dagster_project.ingest.inflight import bulk_in_flight
from dagster_project.ingest.inputs import InputFile, expand_paths
from dagster_project.ingest.prefetch import read_ahead
from dagster_project.ingest.quarantine import Quarantined, quarantine_document, reason_key
from dagster_project.ingest.streams import FileStream, RecordStream
from dagster_project.integrity.chain import BatchRecorder
from dagster_project.integrity.hashing import canonical_json
from dagster_project.retries import BulkRetry, IdempotentBulkClient, describe_failure, node_urls
from dagster_project.settings import RetentionSettings
from dagster_project.sources.base import NESTED_TOO_DEEPLY, Event, RawRecord, Rejected, iso_utc
from dagster_project.sources.registry import parser_factory
from dagster_project.storage import naming
from dagster_project.storage.naming import events_index, quarantine_index

log = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(minutes=5)
CHUNK_SIZE = 2000
MAX_CHUNK_BYTES = 16 * 1024 * 1024
BULK_IN_FLIGHT = 2
"""Bulk requests of one run at once (`ingest.inflight`): one is indexed while the client sends the next."""
BULK_ANSWER_FIELDS = "items.*._id,items.*.status,items.*.error"
"""What ingestion reads of a bulk answer, per document; the node leaves the rest out (a quarter of the bytes)."""


@dataclass
class IngestSummary:
    """The outcome of a run; `siem ingest --json` prints exactly these keys first."""

    source: str
    files: int = 0
    read: int = 0
    indexed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    """Quarantine reasons (first words) with counts, for people and metadata."""

    @property
    def reconciles(self) -> bool:
        """read == indexed + quarantined + duplicates."""
        return self.read == self.indexed + self.quarantined + self.duplicates

    def as_json(self) -> dict[str, Any]:
        """The summary object of the CLI contract."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(frozen=True)
class _Pending:
    kind: str  # "event" or "quarantine"
    source_line: int
    raw: str
    file: str
    offset: int
    index: str = ""
    doc_hash: str = ""


ProgressCallback = Callable[[int], None]


def ingest(
    client: OpenSearch,
    source: str,
    paths: Sequence[str | Path] = (),
    *,
    streams: Sequence[RecordStream] | None = None,
    retention: RetentionSettings | None = None,
    landing_root: Path | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    refresh: bool = False,
    partition: str | None = None,
    retry: BulkRetry | None = None,
    writers: int = BULK_IN_FLIGHT,
) -> IngestSummary:
    """Ingest `paths` as `source`; returns the reconciled summary or raises IngestError/ReconciliationError.

    `partition` (default: today, UTC) is stored in `siem.partition`: the arrival day whose data-quality
    checks cover these events. `streams` replaces `paths` for inputs that are not files (spooled records).
    `retry` (default: the policy's defaults) sets layers 2 and 3 of the retries. `progress` is called from
    the read-ahead thread. `writers`: bulk requests in flight at once (`ingest.inflight`).
    """
    factory = parser_factory(source)
    if streams is None:
        streams = [FileStream(item) for item in expand_paths(list(paths), within=landing_root)]
    retention = retention or RetentionSettings()
    retry = retry or BulkRetry()
    now = now or datetime.now(UTC)
    oldest = now - timedelta(days=retention.retention_days)
    newest = now + FUTURE_TOLERANCE
    summary = IngestSummary(source=source, files=len(streams))
    run_id = uuid.uuid4().hex
    partition = partition or now.strftime("%Y-%m-%d")
    pending: dict[str, deque[_Pending]] = defaultdict(deque)
    lock = threading.Lock()
    reasons: dict[str, int] = defaultdict(int)
    """Quarantine reasons counted while reading (the read-ahead thread)."""
    refused: dict[str, int] = defaultdict(int)
    """Quarantine reasons of events the cluster refused (the calling thread)."""
    started = time.monotonic()
    recorder = BatchRecorder(client, source, run_id)
    run = _RunConstants(source, iso_utc(now), partition, run_id)

    def remember(doc_id: str, meta: _Pending) -> None:
        with lock:
            pending[doc_id].append(meta)

    def quarantine_action(reason: str, raw: str, file: str, line: int, offset: int, stage: str) -> dict[str, Any]:
        doc_id, document = quarantine_document(source, Quarantined(reason, raw, file, line, offset, stage), now, run_id)
        remember(doc_id, _Pending("quarantine", line, raw, file, offset))
        reasons[reason_key(reason)] += 1
        return {"_op_type": "create", "_index": quarantine_index(now.date()), "_id": doc_id, "_source": document}

    def actions() -> Iterator[dict[str, Any]]:
        done_bytes = 0
        for stream in streams:
            file = stream.label
            parser = factory(stream.context())
            last_report = 0
            for record in _guarded_records(stream.records(parser), file):
                summary.read += 1
                result = parser.parse(record)
                if isinstance(result, Rejected):
                    yield quarantine_action(result.reason, result.raw, file, result.line_no, record.offset, "parse")
                elif result.timestamp > newest:
                    yield quarantine_action(
                        f"timestamp in the future: {result.timestamp.isoformat()}",
                        result.original,
                        file,
                        record.line_no,
                        record.offset,
                        "validate",
                    )
                elif result.timestamp < oldest:
                    yield quarantine_action(
                        f"older than retention ({retention.retention_days} days): {result.timestamp.isoformat()}",
                        result.original,
                        file,
                        record.line_no,
                        record.offset,
                        "validate",
                    )
                else:
                    try:
                        action = _event_action(source, result, stream, record, run, remember)
                    except RecursionError:  # its canonical JSON nests deeper than the stack: quarantined, no crash
                        action = quarantine_action(
                            f"{NESTED_TOO_DEEPLY} to serialise as a document",
                            result.original,
                            file,
                            record.line_no,
                            record.offset,
                            "validate",
                        )
                    yield action
                if progress is not None and summary.read - last_report >= 5000:
                    last_report = summary.read
                    progress(done_bytes + stream.position())
            trailing = stream.trailing_error()
            if trailing:
                summary.read += 1
                yield quarantine_action(trailing, "", file, -1, -1, "read")
            done_bytes += stream.size
            if progress is not None:
                progress(done_bytes)

    prefetched = read_ahead(actions())
    try:
        for ok, item in bulk_in_flight(
            IdempotentBulkClient(client, retry),  # every action is a `create` with a deterministic id
            prefetched,
            writers=writers,
            chunk_size=CHUNK_SIZE,
            max_chunk_bytes=MAX_CHUNK_BYTES,
            raise_on_error=False,
            raise_on_exception=True,
            filter_path=BULK_ANSWER_FIELDS,
            **retry.streaming_kwargs(),
        ):
            (result,) = item.values()
            doc_id = result.get("_id")
            with lock:
                meta = pending[doc_id].popleft()
                if not pending[doc_id]:
                    del pending[doc_id]
            status = result.get("status", 0)
            if ok:
                if meta.kind == "event":
                    summary.indexed += 1
                    recorder.add(meta.index, doc_id, meta.doc_hash)
                else:
                    summary.quarantined += 1
                continue
            if status == 409:
                summary.duplicates += 1
                if meta.kind == "event":
                    recorder.add_existing(meta.index, doc_id)
                continue
            if meta.kind == "quarantine":
                raise IngestError(
                    f"could not write to quarantine: {result.get('error')}", where=f"{meta.file}:{meta.source_line}"
                )
            # The cluster refused the event (e.g. a mapping rejection): quarantine it with the cluster's reason.
            reason = _error_reason(result.get("error"))
            _retry_as_quarantine(client, source, meta, reason, now, run_id, summary, refused)
        recorder.flush()
    except (OpenSearchConnectionError, TransportError) as exc:
        _seal_acknowledged(recorder)
        raise IngestError(
            f"bulk write failed after its retries (dagster_project.retries): {describe_failure(exc)}; "
            f"{summary.indexed} events indexed before it, a re-run adds the rest",
            where=node_urls(client),
        ) from exc
    finally:
        prefetched.close()  # stops the read-ahead thread now, not when a traceback lets go of it
    summary.seconds = time.monotonic() - started
    summary.reasons = dict(reasons)
    for key, count in refused.items():
        summary.reasons[key] = summary.reasons.get(key, 0) + count
    if refresh:
        client.indices.refresh(
            index=f"{naming.events_pattern()},{naming.quarantine_pattern()}",
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    if not summary.reconciles:
        raise ReconciliationError(
            f"read {summary.read} != indexed {summary.indexed} + quarantined {summary.quarantined} "
            f"+ duplicates {summary.duplicates}",
            where=source,
        )
    log.info("ingested %s: %s", source, summary.as_json())
    return summary


class _RunConstants:
    """What every event document of one run shares, worked out once per run instead of once per event."""

    def __init__(self, source: str, ingested: str, partition: str, batch_id: str) -> None:
        self.ingested = ingested
        self.partition = partition
        self.batch_id = batch_id
        self._source = source
        self._indices: dict[date, str] = {}

    def index(self, timestamp: datetime) -> str:
        """The daily events index of an event time (naming is asked once per day of the run)."""
        day = timestamp.date()
        index = self._indices.get(day)
        if index is None:
            index = self._indices[day] = events_index(self._source, timestamp)
        return index


def _event_action(
    source: str,
    event: Event,
    stream: RecordStream,
    record: RawRecord,
    run: _RunConstants,
    remember: Callable[[str, _Pending], None],
) -> dict[str, Any]:
    doc = event.document()
    scope, occurrence = stream.identity(record, event.original)
    doc_id = event_id(source, event.original, occurrence, scope=scope)
    file = stream.label
    doc["event"]["ingested"] = run.ingested
    doc["siem"] = {
        "source": source,
        "file": file,
        "line": record.line_no,
        "offset": record.offset,
        "content_hash": content_hash(event.original),
        "partition": run.partition,
        "batch_id": run.batch_id,  # the run whose integrity records chain this event (see integrity.chain)
    }
    stream.annotate(doc, record)
    index = run.index(event.timestamp)
    # Serialised once: the same bytes are indexed and hashed into the integrity chain.
    body = canonical_json(doc)
    remember(
        doc_id,
        _Pending("event", record.line_no, event.original, file, record.offset, index, hashlib.sha256(body).hexdigest()),
    )
    return {"_op_type": "create", "_index": index, "_id": doc_id, "_source": body.decode()}


def _seal_acknowledged(recorder: BatchRecorder) -> None:
    """Chain what the cluster acknowledged before a run fails; a re-run adopts what this cannot reach."""
    try:
        recorder.flush()
    except (OpenSearchConnectionError, TransportError) as exc:
        log.warning("could not seal the integrity record of a failing run (a re-run adopts its events): %s", exc)


def _guarded_records(records: Iterator[RawRecord], file: str) -> Iterator[RawRecord]:
    """Turn an exception inside a reader into one reject, so a broken file never aborts the run."""
    last = 0
    try:
        for record in records:
            last = record.line_no
            yield record
    except Exception as exc:  # noqa: BLE001  (a reader bug or unreadable bytes: record it, don't crash)
        log.warning("reader failed in %s after record %d: %s", file, last, exc)
        yield RawRecord(last + 1, -1, "", error=f"unreadable input after record {last}: {type(exc).__name__}: {exc}")


def _error_reason(error: Any) -> str:
    if isinstance(error, dict):
        reason = f"{error.get('type')}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return f"rejected by the cluster: {reason}"[:2000]
    return f"rejected by the cluster: {error}"[:2000]


def _retry_as_quarantine(
    client: OpenSearch,
    source: str,
    meta: _Pending,
    reason: str,
    now: datetime,
    run_id: str,
    summary: IngestSummary,
    reasons: dict[str, int],
) -> None:
    record = Quarantined(reason, meta.raw, meta.file, meta.source_line, meta.offset, "index")
    doc_id, body = quarantine_document(source, record, now, run_id)
    try:
        client.create(index=quarantine_index(now.date()), id=doc_id, body=body)
        summary.quarantined += 1
    except TransportError as exc:
        if exc.status_code == 409:
            summary.duplicates += 1
        else:
            raise IngestError(f"could not write to quarantine: {exc}", where=f"{meta.file}:{meta.source_line}") from exc
    reasons[reason_key(reason)] += 1


def input_files(paths: list[str | Path]) -> list[InputFile]:
    """The files a run over `paths` would read (for progress totals)."""
    return expand_paths(paths)
