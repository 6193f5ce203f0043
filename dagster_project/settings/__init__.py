"""Every setting of the suite, read from the environment: one class per provider, one module each.

This package imports nothing else from the suite, so any module may import it. The README's settings
table lists every variable; `.env.example` holds the ones the Dagster code location wires with EnvVar.
"""

from dagster_project.settings.alerts import AlertSettings
from dagster_project.settings.base import SuiteSettings
from dagster_project.settings.collect import DEFAULT_SYSLOG_SOURCE, CollectSettings
from dagster_project.settings.concurrency import ConcurrencySettings
from dagster_project.settings.dashboards import DashboardsSettings
from dagster_project.settings.folders import FolderSettings
from dagster_project.settings.index import DEFAULT_PREFIX, IndexSettings
from dagster_project.settings.node import LOCAL_HOST, NodeSettings, default_home, effective_url, local_url
from dagster_project.settings.opensearch import ConnectionSettings, url_list
from dagster_project.settings.quality import MAX_SAMPLE, QualitySettings
from dagster_project.settings.retention import RetentionSettings
from dagster_project.settings.rules import RUN_STATUSES, RuleSettings
from dagster_project.settings.signing import SigningSettings
from dagster_project.settings.smtp import SmtpSettings
from dagster_project.settings.spool import SpoolSettings
from dagster_project.settings.webhook import WebhookSettings

PROVIDERS: tuple[type[SuiteSettings], ...] = (
    ConnectionSettings,
    NodeSettings,
    IndexSettings,
    RetentionSettings,
    FolderSettings,
    SmtpSettings,
    WebhookSettings,
    SigningSettings,
    DashboardsSettings,
    QualitySettings,
    AlertSettings,
    ConcurrencySettings,
    CollectSettings,
    SpoolSettings,
    RuleSettings,
)
"""Every settings class, in the order of the README's table."""

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_SYSLOG_SOURCE",
    "LOCAL_HOST",
    "MAX_SAMPLE",
    "PROVIDERS",
    "RUN_STATUSES",
    "AlertSettings",
    "CollectSettings",
    "ConcurrencySettings",
    "ConnectionSettings",
    "DashboardsSettings",
    "FolderSettings",
    "IndexSettings",
    "NodeSettings",
    "QualitySettings",
    "RetentionSettings",
    "RuleSettings",
    "SigningSettings",
    "SmtpSettings",
    "SpoolSettings",
    "SuiteSettings",
    "WebhookSettings",
    "default_home",
    "effective_url",
    "local_url",
    "url_list",
]
