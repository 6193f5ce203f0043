"""Alerts from findings: one per (rule, entity, window) above a severity, with state, deduplicated, then notified.

An alert's id is a hash of rule, entity and window start, so a re-run updates it (counts, last seen) and
never re-notifies. States: active -> acknowledged -> resolved (`siem alerts ack|resolve`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project.detection.rules import SIGMA_LEVELS
from dagster_project.errors import DetectionError
from dagster_project.ids import stable_id
from dagster_project.querydsl import time_range
from dagster_project.settings import AlertSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)

ENTITY_SOURCES = ("user.name", "source.ip", "host.name", "cloud.account.id")
STATES = ("active", "acknowledged", "resolved")


def alert_levels(settings: AlertSettings) -> list[str]:
    """The rule levels at or above SIEM_ALERT_MIN_LEVEL; DetectionError naming the variable for an unknown level."""
    if settings.min_level not in SIGMA_LEVELS:
        raise DetectionError(
            f"unknown level {settings.min_level!r} (one of {', '.join(SIGMA_LEVELS)})", where="SIEM_ALERT_MIN_LEVEL"
        )
    return list(SIGMA_LEVELS[SIGMA_LEVELS.index(settings.min_level) :])


@dataclass
class AlertChange:
    """An alert created or updated by `raise_alerts`."""

    id: str
    created: bool
    document: dict[str, Any] = field(default_factory=dict)


def alert_id(rule_id: str, entity: str, window_start: str) -> str:
    """Deterministic alert id."""
    return stable_id(rule_id, entity, window_start)


def raise_alerts(
    client: OpenSearch, start: datetime, end: datetime, settings: AlertSettings | None = None
) -> list[AlertChange]:
    """Group the findings with start <= @timestamp < end into alerts; create new ones, update existing ones."""
    settings = settings or AlertSettings()
    if not client.indices.exists(index=naming.findings_index()):
        return []
    sources: list[dict[str, Any]] = [{"rule": {"terms": {"field": "rule.id"}}}]
    sources += [{name: {"terms": {"field": name, "missing_bucket": True}}} for name in ENTITY_SOURCES]
    sources.append(
        {"window": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{settings.window_minutes}m"}}}
    )
    body: dict[str, Any] = {
        "size": 0,
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"rule.level": alert_levels(settings)}},
                    time_range("@timestamp", start, end),
                ]
            }
        },
        "aggs": {
            "alerts": {
                "composite": {"size": 500, "sources": sources},
                "aggs": {
                    "first": {"min": {"field": "@timestamp"}},
                    "last": {"max": {"field": "@timestamp"}},
                    "sample": {
                        "top_hits": {
                            "size": 20,
                            "sort": [{"@timestamp": "asc"}],
                            "_source": ["finding.id", "finding.event_ids", "rule.title", "rule.level", "rule.tags"],
                        }
                    },
                },
            }
        },
    }
    changes: list[AlertChange] = []
    now = datetime.now(UTC).isoformat()
    while True:
        response = client.search(index=naming.findings_index(), body=body)
        aggregation = response["aggregations"]["alerts"]
        for bucket in aggregation["buckets"]:
            changes.append(_upsert(client, bucket, now))
        after = aggregation.get("after_key")
        if not after or not aggregation["buckets"]:
            break
        body["aggs"]["alerts"]["composite"]["after"] = after
    client.indices.refresh(index=naming.alerts_index(), ignore_unavailable=True)
    return changes


def _upsert(client: OpenSearch, bucket: dict[str, Any], now: str) -> AlertChange:
    key = bucket["key"]
    entity = "|".join(f"{name}={key[name]}" for name in ENTITY_SOURCES if key.get(name) is not None) or "unknown"
    window_start = datetime.fromtimestamp(key["window"] / 1000, UTC).isoformat()
    identifier = alert_id(key["rule"], entity, window_start)
    hits = bucket["sample"]["hits"]["hits"]
    rule = hits[0]["_source"]["rule"] if hits else {}
    finding_ids = [h["_source"]["finding"]["id"] for h in hits]
    event_ids = [e for h in hits for e in h["_source"]["finding"].get("event_ids", [])][:50]
    try:
        existing = client.get(index=naming.alerts_index(), id=identifier)["_source"]["alert"]
    except NotFoundError:
        existing = None
    alert = {
        "id": identifier,
        "state": existing["state"] if existing else "active",
        "severity": rule.get("level"),
        "rule_id": key["rule"],
        "rule_title": rule.get("title"),
        "tags": rule.get("tags", []),
        "entity": entity,
        "window_start": window_start,
        "first_seen": bucket["first"]["value_as_string"],
        "last_seen": bucket["last"]["value_as_string"],
        "finding_count": bucket["doc_count"],
        "finding_ids": finding_ids,
        "event_ids": event_ids,
    }
    for kept in ("acknowledged_by", "acknowledged_at", "resolved_at", "notified"):
        if existing and existing.get(kept):
            alert[kept] = existing[kept]
    client.index(
        index=naming.alerts_index(),
        id=identifier,
        body={"@timestamp": existing and existing.get("first_seen") or alert["first_seen"], "alert": alert},
    )
    return AlertChange(identifier, existing is None, {"@timestamp": now, "alert": alert})


def set_state(client: OpenSearch, identifier: str, state: str, *, by: str = "") -> dict[str, Any]:
    """Move an alert to `acknowledged` or `resolved` (who and when are recorded)."""
    if state not in STATES:
        raise DetectionError(f"unknown state {state!r}", where=identifier)
    try:
        document = client.get(index=naming.alerts_index(), id=identifier)["_source"]
    except NotFoundError as exc:
        raise DetectionError("no such alert", where=identifier) from exc
    alert = document["alert"]
    now = datetime.now(UTC).isoformat()
    alert["state"] = state
    if state == "acknowledged":
        alert["acknowledged_by"] = by or "unknown"
        alert["acknowledged_at"] = now
    if state == "resolved":
        alert["resolved_at"] = now
    client.index(index=naming.alerts_index(), id=identifier, body=document, refresh=True)
    return alert


def mark_notified(client: OpenSearch, identifier: str, channels: list[str]) -> None:
    """Record which channels delivered an alert."""
    client.update(index=naming.alerts_index(), id=identifier, body={"doc": {"alert": {"notified": channels}}})
