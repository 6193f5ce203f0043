"""Which clock each figure of a report counts by: stated once, here, and printed on the report's first page.

A report is about event time (when things happened, `@timestamp`); how late events arrived is shown apart
(the arrivals table, from `event.ingested`). Each entry names the figure and the clock its query filters on.
"""

from __future__ import annotations

from dagster_project.reports.model import ClockNote

CLOCKS: tuple[ClockNote, ...] = (
    ClockNote(
        figure="Period, scope, event counts, samples, trends, field completeness",
        clock="event time (@timestamp, UTC)",
    ),
    ClockNote(figure="Findings", clock="event time of the activity they were raised on (@timestamp)"),
    ClockNote(figure="Alerts and breach clocks", clock="when first seen (alert.first_seen) and detected (detected_at)"),
    ClockNote(
        figure="Integrity verification",
        clock="every event of the period by event time, whatever day its record was sealed",
    ),
    ClockNote(
        figure="Data quality",
        clock="the results of the arrival days (siem.partition) that hold the period's events",
    ),
    ClockNote(figure="Retention and write protection", clock="event date (the day in each index name)"),
    ClockNote(figure="Arrivals (ingestion lag)", clock="arrival time (event.ingested), shown apart"),
    ClockNote(figure="Last retention run, last signing", clock="wall-clock time, up to the report's generation"),
)
