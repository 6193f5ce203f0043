"""Sigma findings per event day (a backfill of any range runs DAYS_PER_RUN days per run), the alerts they raise,
and a sensor that runs detection for newly indexed events only."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg

from dagster_project.assets.ingestion import INGESTION_ASSETS
from dagster_project.assets.partitions import EVENT_DAYS, EVERY_ARRIVAL_DAY, FIRST_DAY
from dagster_project.assets.pools import OPENSEARCH_WRITERS
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.arrivals import days_with_events, new_arrivals
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.resources import (
    AlertPolicyResource,
    OpenSearchResource,
    RulesResource,
    SmtpResource,
    WebhookResource,
)

DAYS_PER_RUN = 31
"""Event days one backfill run hunts: a year's backfill is 12 runs (each loads the rules once), not 365."""


@dg.asset(
    group_name="detection",
    partitions_def=EVENT_DAYS,
    kinds={"opensearch", "sigma"},
    # Any arrival day may carry events of this event day: the dependency is on all of them.
    deps=[dg.AssetDep(asset, partition_mapping=EVERY_ARRIVAL_DAY) for asset in INGESTION_ASSETS],
    pool=OPENSEARCH_WRITERS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_RUN),
)
def findings(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    alerting: AlertPolicyResource,
    webhook: WebhookResource,
    smtp: SmtpResource,
    rules: RulesResource,
) -> dg.MaterializeResult:
    """Sigma findings for events of each day in the run, from a retro-hunt of every rule in detectors/ (idempotent)."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    selected = select_rules(settings=rules.settings())
    with opensearch.client() as client:
        # Each day is hunted as its own partition would be (findings carry their day); a day without events
        # has no findings, so only days with events are hunted.
        days = days_with_events(client, start, end)
        hunted = [hunt(client, *_day(day), rules=selected, partition=day) for day in days]
        changes = raise_alerts(client, start, end, alerting.settings())
        delivery = notify(
            client,
            changes,
            webhook=webhook.settings(),
            smtp=smtp.settings(),
            events_url=opensearch.effective_url,
        )
    # The partition's findings, whether this run or an earlier one wrote them (a backfill reports the same).
    by_rule: Counter[str] = Counter()
    for result in hunted:
        by_rule.update({r.title: r.matched for r in result.rules if r.matched})
    return dg.MaterializeResult(
        metadata={
            "findings": dg.MetadataValue.int(sum(result.matched for result in hunted)),
            "new_findings": dg.MetadataValue.int(sum(result.findings for result in hunted)),
            "days": dg.MetadataValue.int(len(context.partition_keys)),
            "days_with_events": dg.MetadataValue.int(len(hunted)),
            "rules_run": dg.MetadataValue.int(len(selected) if hunted else 0),
            "findings_by_rule": dg.MetadataValue.json(dict(by_rule)),
            "alerts": dg.MetadataValue.int(len(changes)),
            "new_alerts": dg.MetadataValue.int(sum(c.created for c in changes)),
            "delivered_webhook": dg.MetadataValue.int(delivery.webhook),
            "delivered_email": dg.MetadataValue.int(delivery.email),
            "delivery_failures": dg.MetadataValue.json(delivery.failures),
        }
    )


def _day(day: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


daily_detection_job = dg.define_asset_job("daily_detection", selection=[findings])


@dg.schedule(
    job=daily_detection_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_detection_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday's event day once more after it has closed, with whatever arrived late for it."""
    moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
    day = (moment - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(partition_key=day, run_key=f"daily-detection:{day}")


@dg.sensor(
    name="new_events_detection",
    asset_selection=[findings],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs `findings` for the event days that received newly indexed events; nothing when none arrived.",
)
def new_events_sensor(context: dg.SensorEvaluationContext, opensearch: OpenSearchResource) -> dg.SensorResult:
    """Near-real-time detection: one run per event day with newly indexed events (cursor: stamps seen)."""
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    now = datetime.now(UTC)
    with opensearch.client() as client:
        arrivals = new_arrivals(client, seen, now)
    cursor = json.dumps(arrivals.stamps, sort_keys=True)
    last = now.strftime("%Y-%m-%d")
    days = [day for day in arrivals.days if FIRST_DAY <= day <= last]
    if len(days) < len(arrivals.days):
        outside = sorted(set(arrivals.days) - set(days))
        context.log.warning("events dated outside %s..%s have no partition: %s", FIRST_DAY, last, outside)
    if not days:
        return dg.SensorResult(skip_reason="no newly indexed events", cursor=cursor)
    context.log.info("new events on %d event day(s): %s", len(days), ", ".join(days[:10]))
    requests = [dg.RunRequest(partition_key=day, run_key=f"new-events:{day}:{arrivals.token}") for day in days]
    return dg.SensorResult(run_requests=requests, cursor=cursor)


DETECTION_ASSETS = [findings]
DETECTION_SCHEDULES = [daily_detection_schedule]
DETECTION_SENSORS = [new_events_sensor]
