"""Spool ingestion: a sensor over sealed segments launches one run per batch: `spool_events` -> `spool_findings`.

The sensor's run key is the batch's segment id (`<first>..<last>` for several), and its cursor remembers
which segments were requested, so a restarted daemon launches nothing twice. While a source's previous
batch is still queued or running the sensor waits, and the next run takes every segment sealed meanwhile
(the suite's dagster.yaml, which `siem serve` uses, runs one spool batch per source at a time). A failed
run's segments stay sealed on disk and are requested again under a new run key. Detection of the new events runs in the
same run, right after their ingestion: by percolation where the cluster can (`detection.nrt`), else by the hunt.
"""

import json
from datetime import timedelta
from typing import Any

import dagster as dg

from dagster_project.assets.storage import index_templates
from dagster_project.collect.ingestion import event_spans, ingest_segments
from dagster_project.collect.spool import Segment, sealed_segments
from dagster_project.detection import nrt
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import select_rules
from dagster_project.detection.notifications import notify
from dagster_project.detection.rules import Rule
from dagster_project.resources import (
    AlertPolicyResource,
    OpenSearchResource,
    RetentionResource,
    RulesResource,
    SmtpResource,
    SpoolResource,
    WebhookResource,
)

MAX_SEGMENTS_PER_RUN = 64
SENSOR_INTERVAL_SECONDS = 2
"""The sensor's own minimum; the daemon's sensor loop ticks every 5 s at most (Dagster's MIN_INTERVAL_LOOP_TIME),
so a sealed segment waits up to 5 s for the tick (an evaluation lists the spool and queries the runs)."""
SOURCE_TAG = "siem/spool-source"
RUN_KEY_TAG = "dagster/run_key"
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


class SpoolBatchConfig(dg.Config):
    """Which sealed segments (all of one source) this run ingests."""

    segments: list[str]


@dg.asset(group_name="collection", kinds={"opensearch"}, deps=[index_templates])
def spool_events(
    context: dg.AssetExecutionContext,
    config: SpoolBatchConfig,
    opensearch: OpenSearchResource,
    spool: SpoolResource,
    retention: RetentionResource,
) -> dg.Output[dict[str, Any]]:
    """Events received live (syslog, HTTP), ingested from sealed spool segments; segments retired once reconciled."""
    with opensearch.client() as client:
        batch = ingest_segments(
            client, spool.root, config.segments, archive=spool.archive, retention=retention.settings()
        )
    counts = batch.as_json()
    context.log.info("spool batch: %s", counts)
    metadata: dict[str, Any] = {
        key: dg.MetadataValue.int(int(counts[key]))
        for key in ("acknowledged", "read", "indexed", "quarantined", "duplicates")
    }
    metadata |= {
        "source": dg.MetadataValue.text(batch.source),
        "segments": dg.MetadataValue.json(batch.segments),
        "already_gone": dg.MetadataValue.json(batch.already_gone),
        "quarantine_reasons": dg.MetadataValue.json(counts["reasons"]),
    }
    return dg.Output({"source": batch.source, "labels": batch.labels}, metadata=metadata)


@dg.asset(group_name="collection", kinds={"opensearch", "sigma"})
def spool_findings(
    context: dg.AssetExecutionContext,
    spool_events: dict[str, Any],
    opensearch: OpenSearchResource,
    alerting: AlertPolicyResource,
    webhook: WebhookResource,
    smtp: SmtpResource,
    rules: RulesResource,
) -> dg.MaterializeResult:
    """Sigma findings (and alerts) for the events the same run just ingested from the spool."""
    findings = alerts = new_alerts = percolated = 0
    source = spool_events["source"]
    settings = rules.settings()
    selected = [(rule, compiled) for rule, compiled in select_rules(settings=settings) if routed(rule, source)]
    with opensearch.client() as client:
        spans = event_spans(client, source, spool_events["labels"])
        percolation = settings.arrival == "percolate"
        plan = nrt.prepare(client, selected, percolation=percolation) if spans else nrt.Plan(None, selected)
        batch = {"terms": {"siem.file": spool_events["labels"]}}
        for first, last in spans:
            end = last + timedelta(milliseconds=1)
            detected = nrt.detect(client, plan, first, end, only=batch)
            findings += detected.findings
            percolated += detected.percolated
            changes = raise_alerts(client, first, end, alerting.settings())
            notify(
                client,
                changes,
                webhook=webhook.settings(),
                smtp=smtp.settings(),
                events_url=opensearch.effective_url,
            )
            alerts += len(changes)
            new_alerts += sum(c.created for c in changes)
    registered = plan.registered
    context.log.info(
        "%d findings (%d %s rules, plain rules by %s), %d new alerts over %d event days",
        findings,
        len(selected),
        source,
        plan.runner,
        new_alerts,
        len(spans),
    )
    return dg.MaterializeResult(
        metadata={
            "findings": dg.MetadataValue.int(findings),
            "alerts": dg.MetadataValue.int(alerts),
            "new_alerts": dg.MetadataValue.int(new_alerts),
            "event_days": dg.MetadataValue.int(len(spans)),
            "runner": dg.MetadataValue.text(plan.runner),
            "percolated_events": dg.MetadataValue.int(percolated),
            "rules_stored": dg.MetadataValue.int(registered.changed if registered else 0),
            "rules_refused": dg.MetadataValue.json(
                {rule.id: reason for rule, _, reason in registered.refused} if registered else {}
            ),
        }
    )


def routed(rule: Rule, source: str) -> bool:
    """Whether a rule searches `source`'s events (its log source is routed there): only those see a batch's events."""
    return rule.logsource.target().source == source


spool_ingestion_job = dg.define_asset_job(
    "spool_ingestion",
    selection=[spool_events, spool_findings],
    description="Ingest a batch of sealed spool segments, then detect over the new events.",
    executor_def=dg.in_process_executor,  # one process per run: a batch's latency is not spent starting steps
)


def batch_run_key(batch: list[Segment], attempt: int = 0) -> str:
    """The run key of a batch: its segment id, or `<first>..<last seq>` (plus `#attempt` for a retry)."""
    key = batch[0].id if len(batch) == 1 else f"{batch[0].id}..{batch[-1].seq:012d}"
    return f"{key}#{attempt}" if attempt else key


def _runs(context: dg.SensorEvaluationContext, **filters: Any) -> list[dg.DagsterRun]:
    return list(context.instance.get_runs(filters=dg.RunsFilter(**filters)))


@dg.sensor(
    job=spool_ingestion_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches the ingestion of sealed spool segments (run key = segment id).",
)
def sealed_segments_sensor(context: dg.SensorEvaluationContext, spool: SpoolResource) -> dg.SensorResult:
    """One run per source and batch of newly sealed segments; failed batches again under a new key."""
    cursor: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    sealed = sealed_segments(spool.root)
    present = {segment.id for segment in sealed}
    requested: dict[str, list[Any]] = {k: v for k, v in cursor.get("requested", {}).items() if k in present}
    retry: dict[str, int] = {}
    for run_key in {value[0] for value in requested.values()}:
        runs = _runs(context, tags={RUN_KEY_TAG: run_key})
        if runs and runs[0].status in FAILED:
            for segment_id, (key, attempt) in list(requested.items()):
                if key == run_key:
                    retry[segment_id] = attempt + 1
                    del requested[segment_id]
    waiting: dict[str, list[Segment]] = {}
    for segment in sealed:
        if segment.id not in requested:
            waiting.setdefault(segment.source, []).append(segment)
    requests = []
    for source, batch in sorted(waiting.items()):
        if _runs(context, job_name=spool_ingestion_job.name, statuses=ACTIVE, tags={SOURCE_TAG: source}):
            continue  # the running batch's successor will take all of these at once
        batch = batch[:MAX_SEGMENTS_PER_RUN]
        attempt = max(retry.get(segment.id, 0) for segment in batch)
        run_key = batch_run_key(batch, attempt)
        if _runs(context, tags={RUN_KEY_TAG: run_key}):
            batch = [segment for segment in batch if segment.path.exists()]  # not retired since the listing
            if not batch:
                continue
            # A run already holds this key, yet the segment is on disk: the spool was re-created (its
            # numbering restarted) or its run failed. Dagster drops a request whose key has run, silently.
            while _runs(context, tags={RUN_KEY_TAG: (run_key := batch_run_key(batch, attempt))}):
                attempt += 1
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                run_config=dg.RunConfig(ops={"spool_events": SpoolBatchConfig(segments=[s.id for s in batch])}),
                tags={SOURCE_TAG: source, "siem/segments": str(len(batch))},
            )
        )
        requested.update({segment.id: [run_key, attempt] for segment in batch})
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({"requested": requested}))


COLLECTION_ASSETS = [spool_events, spool_findings]
