"""Index names: daily indices named by the event's UTC date, so retention can count from event time."""

from __future__ import annotations

import re
from datetime import date, datetime

EVENTS_PREFIX = "siem-events-"
QUARANTINE_PREFIX = "siem-quarantine-"
_DATED = re.compile(r"^(?P<family>siem-(?:events-[a-z0-9-]+|quarantine))-(?P<day>\d{4}\.\d{2}\.\d{2})$")


def events_index(source: str, timestamp: datetime) -> str:
    """The daily events index for a source and an event time (UTC)."""
    return f"{EVENTS_PREFIX}{source}-{timestamp:%Y.%m.%d}"


def events_pattern(source: str | None = None) -> str:
    """The index pattern of one source's events, or of all events."""
    return f"{EVENTS_PREFIX}{source}-*" if source else f"{EVENTS_PREFIX}*"


def quarantine_index(day: date) -> str:
    """The daily quarantine index for a day of ingestion (UTC)."""
    return f"{QUARANTINE_PREFIX}{day:%Y.%m.%d}"


def index_day(index: str) -> tuple[str, date] | None:
    """(family, day) of a dated suite index, or None for any other name."""
    match = _DATED.match(index)
    if not match:
        return None
    return match.group("family"), datetime.strptime(match.group("day"), "%Y.%m.%d").date()
