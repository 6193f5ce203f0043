"""Retro-hunt findings per event day (backfill any range from the UI), and the alerts they raise."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from dagster_project.assets.ingestion import INGESTION_ASSETS
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.resources import OpenSearchResource

EVENT_DAYS = dg.DailyPartitionsDefinition(start_date="2000-01-01", timezone="UTC", end_offset=1)
"""Partitions are event days (not arrival days): a backfill over years of history is one click."""


@dg.asset(
    group_name="detection",
    partitions_def=EVENT_DAYS,
    kinds={"opensearch", "sigma"},
    deps=INGESTION_ASSETS,
)
def findings(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Sigma findings for events of one day, from a retro-hunt of every rule in detectors/ (idempotent)."""
    start = datetime.strptime(context.partition_key, "%Y-%m-%d").replace(tzinfo=UTC)
    end = start + timedelta(days=1)
    with opensearch.client() as client:
        result = hunt(client, start, end, rules=select_rules(), partition=context.partition_key)
        changes = raise_alerts(client, start, end)
        delivery = notify(client, changes, events_url=opensearch.effective_url)
    by_rule = {r.title: r.findings for r in result.rules if r.findings}
    return dg.MaterializeResult(
        metadata={
            "findings": dg.MetadataValue.int(result.findings),
            "rules_run": dg.MetadataValue.int(len(result.rules)),
            "findings_by_rule": dg.MetadataValue.json(by_rule),
            "alerts": dg.MetadataValue.int(len(changes)),
            "new_alerts": dg.MetadataValue.int(sum(c.created for c in changes)),
            "delivered_webhook": dg.MetadataValue.int(delivery.webhook),
            "delivered_email": dg.MetadataValue.int(delivery.email),
            "delivery_failures": dg.MetadataValue.json(delivery.failures),
        }
    )


daily_detection_schedule = dg.build_schedule_from_partitioned_job(
    dg.define_asset_job("daily_detection", selection=[findings]),
    hour_of_day=0,
    minute_of_hour=30,
)


RECENT_WINDOW = timedelta(minutes=15)


@dg.asset(group_name="detection", kinds={"opensearch", "sigma"})
def recent_findings(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Near-real-time detection: every rule over the last 15 minutes of events, run each minute by a schedule."""
    end = datetime.now(UTC) + timedelta(minutes=5)
    start = end - RECENT_WINDOW - timedelta(minutes=5)
    with opensearch.client() as client:
        result = hunt(client, start, end, rules=select_rules())
        changes = raise_alerts(client, start, end)
        delivery = notify(client, changes, events_url=opensearch.effective_url)
    context.log.info("%d findings, %d new alerts", result.findings, sum(c.created for c in changes))
    return dg.MaterializeResult(
        metadata={
            "window_start": start.isoformat(),
            "findings": dg.MetadataValue.int(result.findings),
            "new_alerts": dg.MetadataValue.int(sum(c.created for c in changes)),
            "delivered_webhook": dg.MetadataValue.int(delivery.webhook),
            "delivered_email": dg.MetadataValue.int(delivery.email),
        }
    )


recent_detection_schedule = dg.ScheduleDefinition(
    name="recent_detection_every_minute",
    target=dg.AssetSelection.assets(recent_findings),
    cron_schedule="* * * * *",
    execution_timezone="UTC",
)
