"""Sends the query layer's searches and reads their responses into plain values (counts, buckets, samples)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.reports.model import Count, SampleEvent

MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}
"""A source or index that does not exist yet is evidence of nothing collected, not an error."""


def search(client: OpenSearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """One search (blocking); missing indices count as empty."""
    result: dict[str, Any] = client.search(index=index, body=body, **MISSING_OK)
    return result


def aggregations(response: Mapping[str, Any]) -> dict[str, Any]:
    """The aggregations of a response; {} when no index matched (the response then has none)."""
    return dict(response.get("aggregations") or {})


def total_hits(response: Mapping[str, Any]) -> int:
    """hits.total of a response, whichever form the node returned it in."""
    total = response.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def hits(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hits of a response."""
    return list(response.get("hits", {}).get("hits", []))


def counts(agg: Mapping[str, Any]) -> tuple[Count, ...]:
    """The buckets of a terms-like aggregation as (key, doc count), in the node's order."""
    return tuple(Count(key=bucket_key(b), count=b["doc_count"]) for b in agg.get("buckets", []))


def bucket_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    """The buckets of a terms-like aggregation as key -> doc count."""
    return {bucket_key(b): b["doc_count"] for b in agg.get("buckets", [])}


def bucket_key(bucket: Mapping[str, Any]) -> str:
    """A bucket's key as text (`key_as_string` when given; booleans as `true`/`false`)."""
    key = bucket.get("key_as_string", bucket["key"])
    return str(key).lower() if isinstance(key, bool) else str(key)


def sample_event(hit: Mapping[str, Any]) -> SampleEvent:
    """One sampled hit, its fields flattened to dotted names and text values."""
    source = hit.get("_source", {})
    flat = {k: _flat_value(v) for k, v in _flatten(source).items() if k != "@timestamp"}
    return SampleEvent(id=hit["_id"], index=hit["_index"], timestamp=str(source.get("@timestamp", "")), fields=flat)


def parse_time(value: Any) -> datetime | None:
    """A stored timestamp as an aware datetime (UTC when it carries no zone); None when empty."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _flat_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
