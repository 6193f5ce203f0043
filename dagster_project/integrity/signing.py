"""Signs a digest over the chain heads of every source with Ed25519, once per period (default: hourly)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError

from dagster_project.integrity.chain import chain_head
from dagster_project.integrity.keys import key_id
from dagster_project.storage import naming

SIGNING_INTERVAL = timedelta(hours=1)
"""How often the heads are signed (the `hourly_integrity_signing` schedule, and `period` below)."""
SIGNING_GRACE = timedelta(minutes=30)
"""How long a scheduled signing may take to start and finish before it counts as missed."""


def digest_of(heads: dict[str, dict[str, Any]], signed_at: str) -> str:
    """SHA-256 over the canonical JSON of the heads and the signing time."""
    canonical = json.dumps({"heads": heads, "signed_at": signed_at}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def signed_digest(heads: dict[str, dict[str, Any]], key: Ed25519PrivateKey, signed_at: datetime) -> dict[str, Any]:
    """The digest document of these heads, signed (pure): what `verify` checks against the public key."""
    stamp = signed_at.isoformat()
    digest = digest_of(heads, stamp)
    return {
        "@timestamp": stamp,
        "heads": heads,
        "digest": digest,
        "signature": key.sign(bytes.fromhex(digest)).hex(),
        "key_id": key_id(key.public_key()),
        "algorithm": "Ed25519",
    }


def current_heads(client: OpenSearch) -> dict[str, dict[str, Any]]:
    """{source: {"seq", "hash"}} for every source that has records."""
    try:
        response = client.search(
            index=naming.integrity_index(),
            body={"size": 0, "aggs": {"sources": {"terms": {"field": "source", "size": 1000}}}},
        )
    except NotFoundError:
        return {}
    heads = {}
    for bucket in response["aggregations"]["sources"]["buckets"]:
        seq, head = chain_head(client, bucket["key"])
        heads[bucket["key"]] = {"seq": seq, "hash": head}
    return heads


def sign_heads(
    client: OpenSearch, key: Ed25519PrivateKey, *, now: datetime | None = None, period: str = "%Y-%m-%dT%H"
) -> dict[str, Any]:
    """Sign the current heads; one digest per period (a second call in the same period returns the stored one)."""
    now = now or datetime.now(UTC)
    client.indices.refresh(index=naming.integrity_index(), ignore_unavailable=True)
    document = signed_digest(current_heads(client), key, now)
    identifier = now.strftime(period)
    try:
        client.create(index=naming.digests_index(), id=identifier, body=document, refresh=True)
    except ConflictError:
        return client.get(index=naming.digests_index(), id=identifier)["_source"]
    return document


def last_signed(client: OpenSearch, until: datetime) -> datetime | None:
    """When the newest digest at or before `until` was signed, None when there is none."""
    client.indices.refresh(index=naming.digests_index(), ignore_unavailable=True)
    response = client.search(
        index=naming.digests_index(),
        body={
            "size": 1,
            "_source": ["@timestamp"],
            "query": {"range": {"@timestamp": {"lte": until.astimezone(UTC).isoformat()}}},
            "sort": [{"@timestamp": "desc"}],
        },
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    hits = response["hits"]["hits"]
    return datetime.fromisoformat(hits[0]["_source"]["@timestamp"].replace("Z", "+00:00")) if hits else None
