"""The suite's one Dagster code location: assets, checks, schedules, sensors and resources.

Every resource field is wired to its environment variable with `dg.EnvVar`, by the name its settings
class gives it (`dagster_project.settings`), so the Dagster UI shows where each value comes from and
the CLI and Dagster read the same variables. `dagster dev` loads them from `.env` (made from
`.env.example`, which lists every one of them; an empty value means the default).
"""

import dagster as dg

from dagster_project.assets import (
    cluster,
    collection,
    dashboards,
    detection,
    ingestion,
    integrity,
    pools,
    quality,
    reports,
    security,
    storage,
)
from dagster_project.resources import (
    AlertPolicyResource,
    ConcurrencyResource,
    DashboardsResource,
    LandingResource,
    OpenSearchResource,
    QualityResource,
    ReportsResource,
    RetentionResource,
    RulesResource,
    SigningKeyResource,
    SmtpResource,
    SpoolResource,
    WebhookResource,
)
from dagster_project.settings import (
    AlertSettings,
    ConcurrencySettings,
    ConnectionSettings,
    DashboardsSettings,
    FolderSettings,
    NodeSettings,
    QualitySettings,
    RetentionSettings,
    RuleSettings,
    SigningSettings,
    SmtpSettings,
    SpoolSettings,
    SuiteSettings,
    WebhookSettings,
)


def env(settings: type[SuiteSettings], *fields: str) -> dict[str, dg.EnvVar]:
    """`dg.EnvVar`s for fields of a settings class (all of them when none are named), by the class's own names."""
    names = settings.env_names()
    return {field: dg.EnvVar(names[field]) for field in fields or names}


def _home() -> dg.EnvVar:
    return dg.EnvVar(NodeSettings.env_names()["home"])


RESOURCES: dict[str, dg.ConfigurableResource] = {
    "opensearch": OpenSearchResource(
        **env(ConnectionSettings), local_port=dg.EnvVar(NodeSettings.env_names()["opensearch_port"])
    ),
    "smtp": SmtpResource(**env(SmtpSettings)),
    "webhook": WebhookResource(**env(WebhookSettings)),
    "signing_key": SigningKeyResource(**env(SigningSettings)),
    "dashboards": DashboardsResource(**env(DashboardsSettings)),
    "landing": LandingResource(**env(FolderSettings, "landing_dir"), home=_home()),
    "reports_folder": ReportsResource(**env(FolderSettings, "reports_dir"), home=_home()),
    "retention": RetentionResource(**env(RetentionSettings)),
    "alerting": AlertPolicyResource(**env(AlertSettings)),
    "quality": QualityResource(**env(QualitySettings)),
    "concurrency": ConcurrencyResource(**env(ConcurrencySettings)),
    "spool": SpoolResource(**env(SpoolSettings, "dir", "archive_dir"), home=_home()),
    "rules": RulesResource(**env(RuleSettings)),
}
"""One resource per external system or policy, each field wired to its variable."""

defs = dg.Definitions(
    assets=[
        *dg.load_assets_from_modules([cluster]),
        *storage.STORAGE_ASSETS,
        *security.SECURITY_ASSETS,
        *ingestion.INGESTION_ASSETS,
        *collection.COLLECTION_ASSETS,
        *detection.DETECTION_ASSETS,
        integrity.integrity_digest,
        *reports.REPORT_ASSETS,
        *dashboards.DASHBOARD_ASSETS,
    ],
    schedules=[
        *detection.DETECTION_SCHEDULES,
        *storage.STORAGE_SCHEDULES,
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
    sensors=[
        *ingestion.LANDING_SENSORS,
        *detection.DETECTION_SENSORS,
        collection.sealed_segments_sensor,
        pools.opensearch_writers_pool,
    ],
    resources=RESOURCES,
)
