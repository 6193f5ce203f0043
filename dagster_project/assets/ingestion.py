"""Ingestion assets, one per source, partitioned by arrival day and fed from the landing directory; a sensor each."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from dagster_project.assets.partitions import ARRIVAL_DAYS
from dagster_project.assets.pools import OPENSEARCH_WRITERS
from dagster_project.assets.storage import index_templates
from dagster_project.ingest.landing import landed_files, partition_files
from dagster_project.ingest.pipeline import IngestSummary, ingest
from dagster_project.resources import LandingResource, OpenSearchResource, RetentionResource
from dagster_project.sources.registry import specs
from dagster_project.sources.spec import SourceSpec
from dagster_project.storage import naming


class IngestConfig(dg.Config):
    """Run configuration for an ingestion partition."""

    landing_dir: str = ""
    """Overrides the landing resource (SIEM_LANDING_DIR) for this run."""


def asset_name(source: str) -> str:
    """The ingestion asset of a source: `linux_auth_events`."""
    return f"{source.replace('-', '_')}_events"


def build_ingestion_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The daily ingestion asset of one source."""
    source = spec.name

    @dg.asset(
        name=asset_name(source),
        group_name="ingestion",
        partitions_def=ARRIVAL_DAYS,
        deps=[index_templates],
        kinds={"opensearch"},
        description=f"{spec.description}: the {source} events that arrived in the landing directory that day.",
        metadata={"source": source, "index_pattern": naming.events_pattern(source)},
        pool=OPENSEARCH_WRITERS,
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        opensearch: OpenSearchResource,
        landing: LandingResource,
        retention: RetentionResource,
    ) -> dg.MaterializeResult:
        root = Path(config.landing_dir) if config.landing_dir else landing.root
        files = partition_files(root, source, context.partition_key)
        if not files:
            context.log.info("no files for %s in %s/%s", context.partition_key, root, source)
        summary = IngestSummary(source=source)
        if files:
            with opensearch.client() as client:
                summary = ingest(
                    client,
                    source,
                    files,
                    landing_root=root,
                    retention=retention.settings(),
                    refresh=True,
                    partition=context.partition_key,
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
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingResource) -> dg.SensorResult:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        by_partition: dict[str, list[str]] = {}
        for landed in landed_files(landing.root, source):
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
