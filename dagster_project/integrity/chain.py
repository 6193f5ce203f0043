"""Writes one integrity record per ingestion batch, chained to the previous record of the same source.

Records live in `siem-integrity` with id `<source>:<seq>`, created with op_type=create: a concurrent
writer that raced for the same sequence number gets a conflict and re-reads the head (never forks the chain).
A record also names the event indices its entries are in (`indices`, outside the hash: a search aid), so
verification finds the records that seal an event-time period whatever day they were written; a record
whose `indices` were altered only hides itself, and its events then show up as unsealed.

A document the cluster already held when a run created it (409) was written by an earlier attempt whose
answer was lost: a request retried after a node died, or a run that failed half-way. Unless a record of the
run that wrote it (its `siem.batch_id`) lists it, it is adopted: chained with the hash of its stored copy,
so `siem verify` never reports an event that ingestion wrote as injected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError

from dagster_project import searches
from dagster_project.integrity.hashing import GENESIS, document_hash, record_hash
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
    adopted: int = 0
    _entries: list[tuple[str, str, str]] = field(default_factory=list)
    _head: tuple[int, str] | None = None
    _conflicts: list[tuple[str, str]] = field(default_factory=list)
    _chained_by_run: dict[str, set[str]] = field(default_factory=dict)

    def add(self, index: str, doc_id: str, doc_hash: str) -> None:
        """Remember one accepted document; seals a record when the batch is full."""
        self._entries.append((index, doc_id, doc_hash))
        if len(self._entries) >= self.batch_size:
            self._seal()

    def add_existing(self, index: str, doc_id: str) -> None:
        """Remember a document the cluster already held (409 on create); adopted if no record lists it."""
        self._conflicts.append((index, doc_id))
        if len(self._conflicts) >= self.batch_size:
            self._adopt_unchained()

    def flush(self) -> None:
        """Seal the pending entries (and adopted documents) into records (no-op when there are none)."""
        self._adopt_unchained()
        self._seal()

    def _adopt_unchained(self) -> None:
        conflicts, self._conflicts = self._conflicts, []
        if not conflicts:
            return
        docs = self.client.mget(body={"docs": [{"_index": index, "_id": doc_id} for index, doc_id in conflicts]})
        for (index, doc_id), doc in zip(conflicts, docs["docs"], strict=True):
            if not doc.get("found"):
                continue
            run = doc["_source"].get("siem", {}).get("batch_id")
            if run is None or (run != self.run_id and doc_id in self._chained_ids(run)):
                continue  # chained by the run that wrote it (documents without a run predate adoption)
            self.add(index, doc_id, document_hash(doc["_source"]))
            self.adopted += 1

    def _chained_ids(self, run_id: str) -> set[str]:
        """Ids the records of an earlier run of this source list (read once per run)."""
        if run_id not in self._chained_by_run:
            self.client.indices.refresh(index=naming.integrity_index(), ignore_unavailable=True)
            query = {"query": {"bool": {"filter": [{"term": {"source": self.source}}, {"term": {"run_id": run_id}}]}}}
            self._chained_by_run[run_id] = {
                entry["id"]
                for hit in searches.scan(  # into a set: a hit twice is the same as once
                    self.client,
                    index=naming.integrity_index(),
                    body=query,
                    where=f"integrity records of run {run_id}",
                    _source=["entries.id"],
                    ignore_unavailable=True,
                )
                for entry in hit["_source"].get("entries", [])
            }
        return self._chained_by_run[run_id]

    def _seal(self) -> None:
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
