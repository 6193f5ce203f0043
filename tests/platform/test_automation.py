"""What runs by itself out of the box: every schedule's and sensor's default status, read from the Definitions.

Each one is listed with why it is on (or off). A new schedule or sensor fails the first test until it is
listed here; the schedules that depend on configuration skip, saying why, instead of being off.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.assets.integrity import hourly_signing_schedule
from dagster_project.assets.reports import REPORT_SCHEDULES
from dagster_project.assets.storage import daily_retention_schedule
from dagster_project.definitions import defs
from dagster_project.integrity import keys
from dagster_project.integrity.signing import SIGNING_INTERVAL
from dagster_project.resources import ReportsResource, SigningKeyResource
from dagster_project.sources.registry import source_names
from dagster_project.storage.retention import RUN_INTERVAL

ON = "RUNNING"
REPORTS = "on: produces the reports of the frameworks with officers to receive them, skips when none has any"
EXPECTED: dict[str, tuple[str, str]] = {
    "daily_retention": (ON, "on: PCI DSS 10.5.1 - retention is enforced by event date every night"),
    "hourly_integrity_signing": (
        ON,
        "on: PCI DSS 10.3.4 - the chain heads are signed every hour; skips, saying why, without a signing key",
    ),
    "daily_detection_schedule": (ON, "on: yesterday's event day is hunted again once late arrivals are in"),
    "data_quality_schedule": (ON, "on: a silent source lands no files, so freshness needs a clock"),
    "daily_compliance_reports_schedule": (ON, REPORTS),
    "weekly_compliance_reports_schedule": (ON, REPORTS),
    "monthly_compliance_reports_schedule": (ON, REPORTS),
    "new_events_detection": (ON, "on: near-real-time detection of newly indexed events, nothing when none arrived"),
    "sealed_segments_sensor": (ON, "on: ingests what `siem serve`'s receivers spooled, nothing when none runs"),
    "opensearch_writers_pool": (ON, "on: keeps the writers pool at SIEM_OPENSEARCH_WRITERS slots; launches nothing"),
    **{
        f"{source.replace('-', '_')}_landing_sensor": (ON, f"on: ingests {source} files as they land")
        for source in source_names()
    },
}


def test_every_schedule_and_sensor_states_its_default_status() -> None:
    repository = defs.get_repository_def()
    actual = {s.name: s.default_status.value for s in repository.schedule_defs}
    actual |= {s.name: s.default_status.value for s in repository.sensor_defs}
    assert actual == {name: status for name, (status, _) in EXPECTED.items()}


@pytest.mark.parametrize(
    ("schedule", "interval"), [(hourly_signing_schedule, SIGNING_INTERVAL), (daily_retention_schedule, RUN_INTERVAL)]
)
def test_the_schedules_run_as_often_as_the_reports_expect(schedule: dg.ScheduleDefinition, interval: timedelta) -> None:
    minute, hour, *rest = str(schedule.cron_schedule).split()
    every = timedelta(hours=1) if hour == "*" else timedelta(days=1)
    assert minute.isdigit() and (hour == "*" or hour.isdigit()) and rest == ["*", "*", "*"]
    assert every == interval


def test_signing_skips_with_the_reason_until_a_key_is_configured(tmp_path: Path) -> None:
    when = datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
    unset = dg.build_schedule_context(scheduled_execution_time=when, resources={"signing_key": SigningKeyResource()})
    skipped = hourly_signing_schedule.evaluate_tick(unset)
    assert skipped.run_requests == [] and "no signing key" in (skipped.skip_message or "")
    private, _ = keys.generate(tmp_path)
    configured = dg.build_schedule_context(
        scheduled_execution_time=when, resources={"signing_key": SigningKeyResource(key_file=str(private))}
    )
    (request,) = hourly_signing_schedule.evaluate_tick(configured).run_requests or []
    assert request.run_key == "integrity-signing:2024-03-01T10"


def test_report_schedules_run_the_frameworks_that_have_recipients(tmp_path: Path) -> None:
    monthly = next(s for s in REPORT_SCHEDULES if s.name == "monthly_compliance_reports_schedule")
    when = datetime(2024, 4, 1, 3, 0, tzinfo=UTC)
    recipients = tmp_path / "recipients.yaml"
    recipients.write_text("pci-dss: [qsa@example.org]\n")
    context = dg.build_schedule_context(
        scheduled_execution_time=when,
        resources={"reports_folder": ReportsResource(recipients_file=str(recipients))},
        repository_def=defs.get_repository_def(),
    )
    (request,) = monthly.evaluate_tick(context).run_requests or []
    assert request.partition_key == "2024-03-01"
    assert [key.to_user_string() for key in request.asset_selection or []] == ["pci_dss_monthly_report"]
    recipients.write_text("{}\n")
    nobody = dg.build_schedule_context(
        scheduled_execution_time=when, resources={"reports_folder": ReportsResource(recipients_file=str(recipients))}
    )
    skipped = monthly.evaluate_tick(nobody)
    assert skipped.run_requests == [] and "no monthly report has recipients" in (skipped.skip_message or "")
