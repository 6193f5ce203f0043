"""Query DSL pieces shared by every reader of the node: the half-open time range, written once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso_millis(moment: datetime) -> str:
    """`2024-03-01T00:00:00.000Z`: UTC to the millisecond, the precision of a `date` field (naive means UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def time_range(field: str, start: datetime, end: datetime) -> dict[str, Any]:
    """A range filter start <= field < end on a date field, so consecutive ranges never share a document."""
    return {"range": {field: {"gte": iso_millis(start), "lt": iso_millis(end), "format": "strict_date_optional_time"}}}
