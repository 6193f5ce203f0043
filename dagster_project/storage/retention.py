"""Enforces retention from event time: daily indices past SIEM_HOT_DAYS become read-only, then are deleted
past SIEM_RETENTION_DAYS.

ISM counts an index's age from its creation, which is wrong for data backfilled late; the suite names
each daily index by event date and enforces the same ages (from the ISM policy's settings) by that date.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from opensearchpy import OpenSearch

from dagster_project.security import audit
from dagster_project.security.actor import actor
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionAction:
    """What retention did to one index, and why."""

    index: str
    day: str
    age_days: int
    action: str
    """deleted | made_read_only | kept"""


def enforce_retention(
    client: OpenSearch, retention: RetentionSettings, *, today: date | None = None, dry_run: bool = False
) -> list[RetentionAction]:
    """Apply the retention schedule to every dated siem index; returns one action per index."""
    today = today or datetime.now(UTC).date()
    settings = client.indices.get_settings(
        index=f"{naming.events_pattern()},{naming.quarantine_pattern()}",
        flat_settings=True,
        allow_no_indices=True,
        expand_wildcards="open",
    )
    actions: list[RetentionAction] = []
    for index in sorted(settings):
        parsed = naming.index_day(index)
        if parsed is None:
            continue
        _family, day = parsed
        age = (today - day).days
        if age >= retention.retention_days:
            if not dry_run:
                client.indices.delete(index=index)
                audit.record(
                    client,
                    "retention.delete",
                    actor=actor(),
                    target=index,
                    details={"event_day": day.isoformat(), "age_days": age, "retention_days": retention.retention_days},
                    key=day.isoformat(),
                )
            actions.append(RetentionAction(index, day.isoformat(), age, "deleted"))
            log.info("retention: deleted %s (event date %s, %d days old)", index, day, age)
            continue
        read_only = settings[index].get("settings", {}).get("index.blocks.write") == "true"
        if age >= retention.hot_days and not read_only:
            if not dry_run:
                client.indices.put_settings(index=index, body={"index.blocks.write": True})
                client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=600)
            actions.append(RetentionAction(index, day.isoformat(), age, "made_read_only"))
            continue
        actions.append(RetentionAction(index, day.isoformat(), age, "kept"))
    return actions


def as_dicts(actions: list[RetentionAction]) -> list[dict[str, object]]:
    """Actions as plain data for --json and metadata."""
    return [asdict(a) for a in actions]
