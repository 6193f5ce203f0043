"""Writes one integrity record per ingestion batch, chained to the previous record of the same source.

Records live in `siem-integrity` with id `<source>:<seq>`, created with op_type=create: a concurrent
writer that raced for the same sequence number gets a conflict and re-reads the head (never forks the chain).
A record also names the event indices its entries are in (`indices`, outside the hash: a search aid), so
verification finds the records that seal an event-time period whatever day they were written; a record
whose `indices` were altered only hides itself, and its events then show up as unsealed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError

from dagster_project.integrity.hashing import GENESIS, record_hash
from dagster_project.storage import naming

log = logging.getLogger(__name__)

BATCH_SIZE = 2000


def chain_head(client: OpenSearch, source: str) -> tuple[int, str]:
    """(seq, hash) of a source's newest record, or (0, GENESIS) when it has none.

    Search may lag a refresh behind, so the answer is confirmed by realtime GETs of the following ids.
    """
    seq, head = _searched_head(client, source)
    while True:
        try:
            newer = client.get(index=naming.integrity_index(), id=f"{source}:{seq + 1}", _source_includes=["hash"])
        except NotFoundError:
            return seq, head
        seq, head = seq + 1, newer["_source"]["hash"]


def _searched_head(client: OpenSearch, source: str) -> tuple[int, str]:
    try:
        found = client.search(
            index=naming.integrity_index(),
            body={
                "size": 1,
                "query": {"term": {"source": source}},
                "sort": [{"seq": "desc"}],
                "_source": ["seq", "hash"],
            },
        )
    except NotFoundError:
        return 0, GENESIS
    hits = found["hits"]["hits"]
    if not hits:
        return 0, GENESIS
    return int(hits[0]["_source"]["seq"]), hits[0]["_source"]["hash"]


def seal(
    source: str, seq: int, prev_hash: str, entries: list[tuple[str, str, str]], run_id: str, sealed_at: datetime
) -> dict[str, Any]:
    """The integrity record of one batch (pure): its entries, chained to `prev_hash` by its own hash."""
    return {
        "@timestamp": sealed_at.isoformat(),
        "source": source,
        "seq": seq,
        "prev_hash": prev_hash,
        "hash": record_hash(source, seq, prev_hash, entries),
        "run_id": run_id,
        "count": len(entries),
        "indices": sorted({index for index, _, _ in entries}),
        "entries": [{"index": i, "id": d, "hash": h} for i, d, h in entries],
    }


@dataclass
class BatchRecorder:
    """Collects (index, id, document hash) of documents the cluster accepted and seals them into chained records."""

    client: OpenSearch
    source: str
    run_id: str
    batch_size: int = BATCH_SIZE
    records_written: int = 0
    _entries: list[tuple[str, str, str]] = field(default_factory=list)
    _head: tuple[int, str] | None = None

    def add(self, index: str, doc_id: str, doc_hash: str) -> None:
        """Remember one accepted document; seals a record when the batch is full."""
        self._entries.append((index, doc_id, doc_hash))
        if len(self._entries) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Seal the pending entries into one record (no-op when there are none)."""
        if not self._entries:
            return
        entries, self._entries = self._entries, []
        if self._head is None:
            self._head = chain_head(self.client, self.source)
        while True:
            seq, prev = self._head
            seq += 1
            body = seal(self.source, seq, prev, entries, self.run_id, datetime.now(UTC))
            try:
                self.client.create(index=naming.integrity_index(), id=f"{self.source}:{seq}", body=body)
            except ConflictError:
                log.info("integrity chain of %s moved on while sealing; retrying", self.source)
                self._head = chain_head(self.client, self.source)
                continue
            self._head = (seq, body["hash"])
            self.records_written += 1
            return
