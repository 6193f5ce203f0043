"""What a check looks at: one source's events of one arrival-day partition, judged at a reference time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dagster_project.errors import ConfigurationError
from dagster_project.storage.naming import events_pattern


def parse_partition(partition: str) -> date:
    """The day of a partition key (YYYY-MM-DD); ConfigurationError otherwise."""
    try:
        day = datetime.strptime(partition, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigurationError(f"partition {partition!r} is not a day (YYYY-MM-DD)", where="partition") from None
    if day.isoformat() != partition:
        raise ConfigurationError(f"partition {partition!r} is not a day (YYYY-MM-DD)", where="partition")
    return day


def partition_end(partition: str) -> datetime:
    """The first instant after the partition's arrival day (UTC)."""
    return datetime.combine(parse_partition(partition) + timedelta(days=1), time(0), UTC)


def reference_time(partition: str, now: datetime) -> datetime:
    """`now` while the partition is open, its end once closed: re-checking a closed day gives one answer."""
    return min(now.astimezone(UTC), partition_end(partition))


def is_open(partition: str, now: datetime) -> bool:
    """True while events may still arrive for the partition."""
    return now.astimezone(UTC) < partition_end(partition)


def source_indices(source: str) -> str:
    """The index pattern of one source's events."""
    return events_pattern(source)


def source_filter(source: str) -> dict[str, Any]:
    """The events one source wrote (the index pattern alone would also match a source named `<source>-x`)."""
    return {"term": {"siem.source": source}}


def partition_query(source: str, partition: str) -> dict[str, Any]:
    """The query selecting one source's events of one partition."""
    return {"bool": {"filter": [source_filter(source), {"term": {"siem.partition": partition}}]}}


def iso(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


SEARCH_OPTIONS: dict[str, Any] = {"ignore_unavailable": True, "allow_no_indices": True}
"""A source that never sent has no index: that is an empty partition, not an error."""
