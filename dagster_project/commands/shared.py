"""What the commands share: one JSON object or text for a person, and the UTC day boundaries of date options."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import click


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print `data` as one JSON object, or `text` for a person."""
    if as_json:
        click.echo(json.dumps(data, default=str, sort_keys=False))
    else:
        click.echo(text)


def day_start(value: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(value, time.min, tzinfo=UTC)
