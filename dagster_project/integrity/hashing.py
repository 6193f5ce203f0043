"""Canonical hashes: of a document as indexed, and of an integrity record chained to its predecessor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import orjson

GENESIS = "0" * 64
"""The `prev_hash` of a source's first record."""


def canonical_json(source: dict[str, Any]) -> bytes:
    """A document's canonical JSON (sorted keys, no spaces): indexed as is, and hashed for tamper evidence."""
    try:
        return orjson.dumps(source, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # lone surrogates and the like: the stdlib encoder escapes them
        return json.dumps(source, sort_keys=True, separators=(",", ":"), default=str).encode()


def document_hash(source: dict[str, Any]) -> str:
    """SHA-256 of a document's canonical JSON: what verification recomputes from the stored `_source`."""
    return hashlib.sha256(canonical_json(source)).hexdigest()


def record_hash(source: str, seq: int, prev_hash: str, entries: Iterable[tuple[str, str, str]]) -> str:
    """SHA-256 over the source, sequence number, previous hash and the ordered (index, id, document hash) entries."""
    digest = hashlib.sha256(f"{source}\n{seq}\n{prev_hash}\n".encode())
    for index, doc_id, doc_hash in entries:
        digest.update(f"{index}\t{doc_id}\t{doc_hash}\n".encode())
    return digest.hexdigest()
