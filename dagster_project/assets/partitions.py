"""The suite's partitions, in one place: arrival days (ingestion, data quality), event days (detection),
and report periods (event time, complete periods only).

Two clocks, named apart on purpose: an ingestion partition is the day files *arrived* (the landing folder's
date, `siem.partition`); events land in indices named by the day they *happened*. One arrival day can carry
events of any event day, so nothing maps one onto the other: detection declares that it depends on every
arrival partition (`AllPartitionMapping`), which is the truth. Every definition starts on the same day, so
a backfill over history is one click wherever it is started.
"""

from __future__ import annotations

import dagster as dg

FIRST_DAY = "2000-01-01"
"""The first partition of every definition (the bundled samples reach back to 2005)."""

ARRIVAL_DAYS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)
"""The day files arrived (UTC); today's partition is open (end_offset=1) so arrivals ingest as they come."""

EVENT_DAYS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)
"""The day events happened (UTC), as their indices are named; today's partition is open for detection."""

REPORT_PERIODS: dict[str, dg.TimeWindowPartitionsDefinition] = {
    "daily": dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC"),
    "weekly": dg.WeeklyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", day_offset=1),
    "monthly": dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC"),
}
"""Report periods by cadence, in event time; only complete periods are partitions (a report is final)."""

EVERY_ARRIVAL_DAY = dg.AllPartitionMapping()
"""How an event-day asset depends on arrival-day assets: on all of them (see the module docstring)."""
