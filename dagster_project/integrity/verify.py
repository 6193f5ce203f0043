"""`siem verify`: recompute the chains from the indexed documents; report modified, deleted, injected documents,
broken chains and bad signatures for records sealed in a date range (ingestion time, UTC)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import NotFoundError, OpenSearch, helpers

from dagster_project.integrity.hashing import GENESIS, document_hash, record_hash
from dagster_project.integrity.keys import key_id
from dagster_project.integrity.signing import digest_of
from dagster_project.querydsl import time_range
from dagster_project.storage import naming

MGET_BATCH = 500
SEAL_SLACK = timedelta(hours=1)
"""Records and digests are sealed shortly after their documents are written; look this far past the range."""


@dataclass
class VerifyReport:
    """The outcome; `ok` only when every list is empty."""

    checked: int = 0
    modified: list[dict[str, str]] = field(default_factory=list)
    deleted: list[dict[str, str]] = field(default_factory=list)
    injected: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: list[dict[str, str]] = field(default_factory=list)
    broken_chain: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    digests: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not (self.modified or self.deleted or self.injected or self.bad_signatures or self.broken_chain)

    def as_json(self) -> dict[str, Any]:
        """The `--json` object: the contract's keys first, then the extensions."""
        data = asdict(self)
        return {"ok": self.ok, **data}


def _records(client: OpenSearch, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    if not client.indices.exists(index=naming.integrity_index()):
        return
    client.indices.refresh(index=naming.integrity_index())
    yield from (
        hit["_source"]
        for hit in helpers.scan(
            client,
            index=naming.integrity_index(),
            query={"query": time_range("@timestamp", start, end), "sort": [{"source": "asc"}, {"seq": "asc"}]},
            preserve_order=True,
            size=200,
        )
    )


def _previous_hash(client: OpenSearch, source: str, seq: int) -> str | None:
    if seq == 1:
        return GENESIS
    try:
        return client.get(index=naming.integrity_index(), id=f"{source}:{seq - 1}")["_source"]["hash"]
    except NotFoundError:
        return None


def record_problems(record: dict[str, Any], expected_prev: str | None) -> list[str]:
    """What is wrong with one integrity record given its predecessor's hash (None: missing), pure."""
    source, seq = record["source"], int(record["seq"])
    problems = []
    if expected_prev is None:
        problems.append(f"record {source}:{seq - 1} is missing")
    elif record["prev_hash"] != expected_prev:
        problems.append("prev_hash does not match the previous record")
    entries = [(e["index"], e["id"], e["hash"]) for e in record["entries"]]
    if record_hash(source, seq, record["prev_hash"], entries) != record["hash"]:
        problems.append("record content does not match its hash")
    return problems


def digest_problem(digest: dict[str, Any], key: Ed25519PublicKey) -> str | None:
    """Why a signed digest does not verify with `key` (wrong key, altered heads, bad signature), or None; pure."""
    if digest.get("key_id") != key_id(key):
        return "signed with another key"
    if digest_of(digest["heads"], digest["@timestamp"]) != digest["digest"]:
        return "heads do not match the signed digest"
    try:
        key.verify(bytes.fromhex(digest["signature"]), bytes.fromhex(digest["digest"]))
    except (InvalidSignature, ValueError):
        return "signature does not verify"
    return None


def verify(client: OpenSearch, start: datetime, end: datetime, public_key: Ed25519PublicKey | None) -> VerifyReport:
    """Check every record sealed in [start, end) and every event ingested in it; digests when a key is given.

    The events are read in one scan of those ingested in the range, each hashed against what the records
    list; only recorded documents the scan did not meet (deleted, moved, or ingested outside the range) are
    fetched by id: a scan reads stored documents several times faster than fetching them by id.
    """
    report = VerifyReport()
    expected: dict[str, list[tuple[str, str]]] = {}
    """Recorded document id -> (index, hash) of each entry that lists it."""
    last: dict[str, tuple[int, str]] = {}
    for record in _records(client, start, end + SEAL_SLACK):
        report.records += 1
        source, seq = record["source"], int(record["seq"])
        expected_prev = (
            last[source][1] if source in last and last[source][0] == seq - 1 else _previous_hash(client, source, seq)
        )
        report.broken_chain += [
            {"source": source, "seq": seq, "reason": reason} for reason in record_problems(record, expected_prev)
        ]
        last[source] = (seq, record["hash"])
        for entry in record["entries"]:
            expected.setdefault(entry["id"], []).append((sys.intern(entry["index"]), entry["hash"]))
    report.checked = sum(len(listed) for listed in expected.values())
    unseen = _scan_ingested(client, start, end, expected, report)
    for offset in range(0, len(unseen), MGET_BATCH):
        _check_documents(client, unseen[offset : offset + MGET_BATCH], report)
    if public_key is not None:
        _check_digests(client, start, end + SEAL_SLACK, public_key, report)
    return report


def _scan_ingested(
    client: OpenSearch, start: datetime, end: datetime, expected: dict[str, list[tuple[str, str]]], report: VerifyReport
) -> list[tuple[str, str, str]]:
    """Hash every event ingested in [start, end) against its entries; the recorded entries it did not meet."""
    query = {"query": time_range("event.ingested", start, end)}
    seen: set[tuple[str, str]] = set()
    for hit in helpers.scan(client, index=naming.events_pattern(), query=query, size=2000, ignore_unavailable=True):
        index, doc_id = hit["_index"], hit["_id"]
        listed = [entry for entry in expected.get(doc_id, []) if entry[0] == index]
        if not listed:
            report.injected.append({"index": index, "id": doc_id})
            continue
        seen.add((index, doc_id))
        actual = document_hash(hit["_source"])
        report.modified.extend({"index": index, "id": doc_id} for _, doc_hash in listed if doc_hash != actual)
    return [
        (index, doc_id, doc_hash)
        for doc_id, listed in expected.items()
        for index, doc_hash in listed
        if (index, doc_id) not in seen
    ]


def _check_documents(client: OpenSearch, entries: list[tuple[str, str, str]], report: VerifyReport) -> None:
    if not entries:
        return
    docs = client.mget(body={"docs": [{"_index": index, "_id": doc_id} for index, doc_id, _ in entries]})["docs"]
    for (index, doc_id, expected), doc in zip(entries, docs, strict=True):
        if not doc.get("found"):
            report.deleted.append({"index": index, "id": doc_id})
        elif document_hash(doc["_source"]) != expected:
            report.modified.append({"index": index, "id": doc_id})


def _check_digests(
    client: OpenSearch, start: datetime, end: datetime, key: Ed25519PublicKey, report: VerifyReport
) -> None:
    if not client.indices.exists(index=naming.digests_index()):
        return
    client.indices.refresh(index=naming.digests_index())
    query = {"query": time_range("@timestamp", start, end)}
    for hit in helpers.scan(client, index=naming.digests_index(), query=query):
        report.digests += 1
        digest = hit["_source"]
        where = {"digest": hit["_id"]}
        problem = digest_problem(digest, key)
        if problem is not None:
            report.bad_signatures.append({**where, "reason": problem})
            continue
        for source, head in digest["heads"].items():
            try:
                stored = client.get(index=naming.integrity_index(), id=f"{source}:{head['seq']}")["_source"]["hash"]
            except NotFoundError:
                stored = None
            if stored != head["hash"]:
                report.bad_signatures.append(
                    {**where, "reason": f"signed head {source}:{head['seq']} no longer matches"}
                )
