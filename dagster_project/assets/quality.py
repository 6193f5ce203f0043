"""Data-quality checks on every ingestion partition, kept in siem-dq, and an hourly schedule for silence."""

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from dagster_project.assets.ingestion import INGESTION_ASSETS
from dagster_project.assets.partitions import ARRIVAL_DAYS
from dagster_project.quality.model import CHECKS, CheckResult, Severity
from dagster_project.quality.runner import check_partition
from dagster_project.quality.store import dq_id
from dagster_project.resources import OpenSearchResource, QualityResource, RetentionResource


def check_metadata(result: CheckResult) -> dict[str, Any]:
    """Dagster metadata: the figures first, then every observed value (lists and maps as JSON)."""
    metadata: dict[str, Any] = {
        "method": result.method.value,
        "siem_dq_id": dq_id(result.source, result.partition, result.check),
    }
    if result.total is not None:
        metadata["total"] = dg.MetadataValue.int(result.total)
    if result.failing is not None:
        metadata["failing"] = dg.MetadataValue.int(result.failing)
    if result.ratio is not None:
        metadata["failing_ratio"] = dg.MetadataValue.float(result.ratio)
    for key, value in result.observed.items():
        if value is None:
            continue
        if isinstance(value, bool):
            metadata[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            metadata[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            metadata[key] = dg.MetadataValue.float(value)
        elif isinstance(value, str):
            metadata[key] = dg.MetadataValue.text(value)
        else:
            metadata[key] = dg.MetadataValue.json(value)
    return metadata


def to_check_result(result: CheckResult, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    """The Dagster form of a result (only failed blocking checks with ERROR stop downstream assets)."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=result.check,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.severity is Severity.ERROR else dg.AssetCheckSeverity.WARN,
        description=result.description,
        metadata=check_metadata(result),
    )


def _specs(asset: dg.AssetsDefinition) -> list[dg.AssetCheckSpec]:
    # Partitioned check specs are a Dagster preview; they are what records a result per partition.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            dg.AssetCheckSpec(
                check.name,
                asset=asset.key,
                blocking=check.blocking,
                description=f"{check.summary} [{check.method.value}]",
                partitions_def=ARRIVAL_DAYS,
                metadata={"method": check.method.value},
            )
            for check in CHECKS.values()
        ]


def build_quality_checks(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """Every data-quality check of one ingestion asset, run on a partition, written to the dq index."""
    source = str(asset.metadata_by_key[asset.key]["source"])

    @dg.multi_asset_check(
        name=f"{asset.key.to_python_identifier()}_quality",
        specs=_specs(asset),
        description=f"Data-quality checks of {source} events (suite derived from its component template).",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext,
        opensearch: OpenSearchResource,
        quality: QualityResource,
        retention: RetentionResource,
    ) -> Iterator[dg.AssetCheckResult]:
        with opensearch.client() as client:
            results = check_partition(
                client, source, context.partition_key, settings=quality.settings(), retention=retention.settings()
            )
        failed = [f"{r.check} ({r.severity})" for r in results if not r.passed]
        context.log.info("%s/%s: %s", source, context.partition_key, ", ".join(failed) or "all checks passed")
        for result in results:
            yield to_check_result(result, asset.key)

    return _checks


QUALITY_CHECKS = [build_quality_checks(asset) for asset in INGESTION_ASSETS]

QUALITY_CHECK_KEYS = [key for checks in QUALITY_CHECKS for key in checks.check_keys]

# The ingestion assets are in the selection only so that the job is partitioned like them (Dagster infers a
# job's partitions from its assets); the schedule launches the checks alone (asset_selection=[]).
data_quality_job = dg.define_asset_job(
    "data_quality_job",
    selection=dg.AssetSelection.assets(*INGESTION_ASSETS).without_checks() | dg.AssetSelection.checks(*QUALITY_CHECKS),
    description="Ingests and checks a partition of every source; the schedule runs only its checks.",
)


@dg.schedule(
    job=data_quality_job,
    cron_schedule="20 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def data_quality_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Today's partition every hour, and yesterday's once more after midnight, when it has closed."""
    # A silent source lands no files, so no ingestion run would ever notice it: freshness needs a clock.
    moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
    days = [moment.date()] + ([moment.date() - timedelta(days=1)] if moment.hour == 0 else [])
    return [
        dg.RunRequest(
            partition_key=day.isoformat(),
            run_key=f"dq:{day.isoformat()}:{moment:%Y-%m-%dT%H}",
            asset_selection=[],
            asset_check_keys=QUALITY_CHECK_KEYS,
        )
        for day in days
    ]


QUALITY_SCHEDULES = [data_quality_schedule]
