"""The suite's one Dagster code location: assets, checks, schedules, sensors and resources."""

import dagster as dg

from dagster_project.assets import cluster, collection, dashboards, detection, ingestion, integrity, quality, reports
from dagster_project.resources import opensearch_from_env

defs = dg.Definitions(
    assets=[
        *dg.load_assets_from_modules([cluster]),
        ingestion.index_templates,
        ingestion.retention_enforcement,
        *ingestion.INGESTION_ASSETS,
        collection.spool_events,
        collection.spool_findings,
        detection.findings,
        detection.recent_findings,
        integrity.integrity_digest,
        *reports.REPORT_ASSETS,
        *dashboards.DASHBOARD_ASSETS,
    ],
    schedules=[
        detection.daily_detection_schedule,
        ingestion.daily_retention_schedule,
        detection.recent_detection_schedule,
        integrity.hourly_signing_schedule,
        *reports.REPORT_SCHEDULES,
        *quality.QUALITY_SCHEDULES,
    ],
    asset_checks=[
        *dg.load_asset_checks_from_modules([cluster]),
        integrity.integrity_verifies,
        *quality.QUALITY_CHECKS,
    ],
    jobs=[collection.spool_ingestion_job],
    sensors=[*ingestion.LANDING_SENSORS, collection.sealed_segments_sensor],
    resources={"opensearch": opensearch_from_env(), "spool": collection.SpoolResource()},
)
