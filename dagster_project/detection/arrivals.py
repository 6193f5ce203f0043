"""Which event days received newly indexed events: what near-real-time detection runs for, and nothing else.

Ingestion stamps every event of a run with one `event.ingested` time (the run's start). The detection
sensor keeps, for each stamp seen within `LOOKBACK`, how many events carry it. A stamp it has not seen,
or one whose count grew (a long run's later batches, or batches that became visible late), means newly
indexed events; their event days (`@timestamp`, UTC) are the `findings` partitions to run. When nothing
was indexed, nothing is launched. Two searches per evaluation; blocking; the client retries 429/5xx.
`days_with_events` answers the same question for a time range: which days of a backfill run hold events.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from dagster_project import searches
from dagster_project.querydsl import time_range
from dagster_project.storage import naming

LOOKBACK = timedelta(hours=24)
"""How far back stamps are compared: longer than any ingestion run; older stamps leave the cursor."""
MAX_STAMPS = 10_000
"""Ingestion runs within LOOKBACK that one evaluation can tell apart."""
_MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}


@dataclass(frozen=True)
class Arrivals:
    """Events indexed since the last look: the stamps now known, and the event days that got new events."""

    stamps: dict[str, int]
    """`event.ingested` (epoch milliseconds, as text) -> events carrying it, within LOOKBACK."""
    days: list[str] = field(default_factory=list)
    """Event days (YYYY-MM-DD, UTC) with newly indexed events, oldest first."""
    fresh: dict[str, int] = field(default_factory=dict)
    """The stamps that are new or grew since the previous look."""

    @property
    def token(self) -> str:
        """A short hash of what is new: the run key that makes a repeated request a no-op."""
        return hashlib.sha256(json.dumps(self.fresh, sort_keys=True).encode()).hexdigest()[:16]


def stamp_counts(client: OpenSearch, since: datetime) -> dict[str, int]:
    """Events per `event.ingested` stamp, for stamps at or after `since`."""
    body = {
        "size": 0,
        "query": {"range": {"event.ingested": {"gte": since.isoformat()}}},
        "aggs": {"stamps": {"terms": {"field": "event.ingested", "size": MAX_STAMPS}}},
    }
    response = searches.search(client, "arrival stamps", index=naming.events_pattern(), body=body, **_MISSING_OK)
    buckets = response.get("aggregations", {}).get("stamps", {}).get("buckets", [])
    return {str(int(b["key"])): int(b["doc_count"]) for b in buckets}


def event_days(client: OpenSearch, stamps: list[str]) -> list[str]:
    """The event days (UTC) of the events carrying these stamps."""
    return _days(client, {"terms": {"event.ingested": [int(s) for s in stamps]}})


def days_with_events(client: OpenSearch, start: datetime, end: datetime) -> list[str]:
    """The event days (UTC) with at least one event in start <= @timestamp < end, oldest first."""
    return _days(client, time_range("@timestamp", start, end))


def _days(client: OpenSearch, query: dict[str, Any]) -> list[str]:
    body: dict[str, Any] = {
        "size": 0,
        "query": query,
        "aggs": {
            "days": {
                "date_histogram": {
                    "field": "@timestamp",
                    "calendar_interval": "day",
                    "time_zone": "UTC",
                    "min_doc_count": 1,
                    "format": "yyyy-MM-dd",
                }
            }
        },
    }
    response = searches.search(client, "event days", index=naming.events_pattern(), body=body, **_MISSING_OK)
    return [str(b["key_as_string"]) for b in response.get("aggregations", {}).get("days", {}).get("buckets", [])]


def new_arrivals(client: OpenSearch, seen: dict[str, int], now: datetime) -> Arrivals:
    """What was indexed since `seen` (the previous `Arrivals.stamps`); no days when nothing was."""
    stamps = stamp_counts(client, now - LOOKBACK)
    fresh = {stamp: count for stamp, count in stamps.items() if count > seen.get(stamp, 0)}
    if not fresh:
        return Arrivals(stamps)
    return Arrivals(stamps, event_days(client, sorted(fresh)), fresh)
