"""Golden tests of the shared query pieces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from dagster_project.querydsl import iso_millis, time_range


def test_times_are_utc_to_the_millisecond() -> None:
    assert iso_millis(datetime(2024, 3, 1, tzinfo=UTC)) == "2024-03-01T00:00:00.000Z"
    assert iso_millis(datetime(2024, 3, 1, 1, 2, 3, 456789, tzinfo=UTC)) == "2024-03-01T01:02:03.456Z"
    assert iso_millis(datetime(2024, 3, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))) == "2024-03-01T00:00:00.000Z"
    assert iso_millis(datetime(2024, 3, 1)) == "2024-03-01T00:00:00.000Z"  # naive: the CLI's days, meant as UTC


def test_the_range_is_half_open() -> None:
    assert time_range("event.ingested", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)) == {
        "range": {
            "event.ingested": {
                "gte": "2024-03-01T00:00:00.000Z",
                "lt": "2024-03-02T00:00:00.000Z",
                "format": "strict_date_optional_time",
            }
        }
    }
