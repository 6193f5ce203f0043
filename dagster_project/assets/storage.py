"""The storage artefacts applied to the cluster, and retention enforced by event time every night."""

import dagster as dg

from dagster_project.resources import OpenSearchResource, RetentionResource
from dagster_project.storage.bootstrap import apply_storage, record_changes
from dagster_project.storage.changes import as_dicts, counts
from dagster_project.storage.retention import enforce_retention


@dg.asset(group_name="storage", kinds={"opensearch"})
def index_templates(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource, retention: RetentionResource
) -> dg.MaterializeResult:
    """Component templates, index templates and ISM policies applied from index_templates/ (nothing else)."""
    with opensearch.client() as client:
        changes = apply_storage(client, retention.settings())
        record_changes(client, changes)
    tally = counts(changes)
    context.log.info("index templates and policies: %s", tally)
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in tally.items()},
            "changes": dg.MetadataValue.json(as_dicts(changes)),
        }
    )


@dg.asset(group_name="storage", kinds={"opensearch"}, deps=[index_templates])
def retention_enforcement(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource, retention: RetentionResource
) -> dg.MaterializeResult:
    """Daily indices past SIEM_HOT_DAYS made read-only and past SIEM_RETENTION_DAYS deleted, by event date."""
    settings = retention.settings()
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
    cron_schedule="15 0 * * *",  # every RUN_INTERVAL (storage.retention), which the reports hold it to
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Enforces retention by event date every night (PCI DSS 10.5.1); on by default.",
)

STORAGE_ASSETS = [index_templates, retention_enforcement]
STORAGE_SCHEDULES = [daily_retention_schedule]
