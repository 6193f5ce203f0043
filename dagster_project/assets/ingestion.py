"""Daily-partitioned ingestion assets, one per source, fed from the landing directory; a sensor per source."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from dagster_project.ingest.landing import landed_files, partition_files
from dagster_project.ingest.pipeline import IngestSummary, ingest
from dagster_project.resources import OpenSearchResource
from dagster_project.settings import LandingSettings, RetentionSettings
from dagster_project.sources.registry import specs
from dagster_project.sources.spec import SourceSpec
from dagster_project.storage.bootstrap import bootstrap
from dagster_project.storage.naming import events_pattern
from dagster_project.storage.retention import enforce_retention

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC", end_offset=1)


class IngestConfig(dg.Config):
    """Run configuration for an ingestion partition."""

    landing_dir: str = ""
    """Overrides SIEM_LANDING_DIR for this run."""


@dg.asset(group_name="storage", kinds={"opensearch"})
def index_templates(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Component templates, index templates and ISM policies applied from index_templates/."""
    with opensearch.client() as client:
        changes = bootstrap(client, RetentionSettings())
    counts = {a: sum(c.action == a for c in changes) for a in ("created", "updated", "unchanged", "skipped")}
    context.log.info("bootstrap: %s", counts)
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in counts.items()},
            "changes": dg.MetadataValue.json([c.__dict__ for c in changes]),
        }
    )


def _asset_name(source: str) -> str:
    return f"{source.replace('-', '_')}_events"


def build_ingestion_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The daily ingestion asset of one source."""
    source = spec.name

    @dg.asset(
        name=_asset_name(source),
        group_name="ingestion",
        partitions_def=DAILY,
        deps=[index_templates],
        kinds={"opensearch"},
        description=f"{spec.description}: the {source} events that arrived in the landing directory that day.",
        metadata={"source": source},
    )
    def _ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, opensearch: OpenSearchResource
    ) -> dg.MaterializeResult:
        root = (
            LandingSettings(landing_dir=Path(config.landing_dir)).root if config.landing_dir else LandingSettings().root
        )
        files = partition_files(root, source, context.partition_key)
        if not files:
            context.log.info("no files for %s in %s/%s", context.partition_key, root, source)
        summary = IngestSummary(source=source)
        if files:
            with opensearch.client() as client:
                summary = ingest(
                    client, source, files, landing_root=root, refresh=True, partition=context.partition_key
                )
        return dg.MaterializeResult(
            metadata={
                "files": dg.MetadataValue.int(summary.files),
                "read": dg.MetadataValue.int(summary.read),
                "indexed": dg.MetadataValue.int(summary.indexed),
                "quarantined": dg.MetadataValue.int(summary.quarantined),
                "duplicates": dg.MetadataValue.int(summary.duplicates),
                "seconds": dg.MetadataValue.float(round(summary.seconds, 3)),
                "quarantine_reasons": dg.MetadataValue.json(summary.reasons),
                "landing": dg.MetadataValue.path(str(root / source)),
                "index_pattern": events_pattern(source),
            }
        )

    return _ingest


def build_landing_sensor(source: str, asset: dg.AssetsDefinition) -> dg.SensorDefinition:
    """A sensor that starts an ingestion run for each partition with new or changed files."""

    @dg.sensor(
        name=f"{source.replace('-', '_')}_landing_sensor",
        asset_selection=[asset.key],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Starts {source} ingestion when files arrive under the landing directory.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        by_partition: dict[str, list[str]] = {}
        for landed in landed_files(LandingSettings().root, source):
            signature = f"{landed.mtime}:{landed.size}"
            if seen.get(str(landed.path)) != signature:
                seen[str(landed.path)] = signature
                by_partition.setdefault(landed.partition, []).append(f"{landed.path}:{signature}")
        requests = [
            dg.RunRequest(
                partition_key=partition,
                run_key=f"{source}:{partition}:{hashlib.sha256('|'.join(sorted(files)).encode()).hexdigest()[:16]}",
                tags={"siem/source": source},
            )
            for partition, files in sorted(by_partition.items())
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen))

    return _sensor


INGESTION_ASSETS = [build_ingestion_asset(spec) for spec in specs()]
"""One ingestion asset per registered source (the findings asset depends on all of them)."""
LANDING_SENSORS = [
    build_landing_sensor(spec.name, asset) for spec, asset in zip(specs(), INGESTION_ASSETS, strict=True)
]


@dg.asset(group_name="storage", kinds={"opensearch"}, deps=[index_templates])
def retention_enforcement(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Daily indices past SIEM_HOT_DAYS made read-only and past SIEM_RETENTION_DAYS deleted, by event date."""
    settings = RetentionSettings()
    with opensearch.client() as client:
        actions = enforce_retention(client, settings)
    deleted = [a.index for a in actions if a.action == "deleted"]
    frozen = [a.index for a in actions if a.action == "made_read_only"]
    context.log.info("retention: %d deleted, %d made read-only, %d kept", len(deleted), len(frozen), len(actions))
    return dg.MaterializeResult(
        metadata={
            "retention_days": settings.retention_days,
            "hot_days": settings.hot_days,
            "meets_pci_10_5_1": settings.meets_pci_10_5_1,
            "deleted": dg.MetadataValue.json(deleted),
            "made_read_only": dg.MetadataValue.json(frozen),
            "indices_checked": len(actions),
        }
    )


daily_retention_schedule = dg.ScheduleDefinition(
    name="daily_retention",
    target=dg.AssetSelection.assets(retention_enforcement),
    cron_schedule="15 0 * * *",
    execution_timezone="UTC",
)
