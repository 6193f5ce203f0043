"""Dagster resources, one per external system or policy: what every asset, check and sensor is configured by.

Each resource holds the text of its settings, which `definitions.py` wires with `dg.EnvVar` (an empty value
means the default), and validates it with the settings class of its provider (`dagster_project.settings`):
the variables, defaults and checks are the CLI's, and no asset reads the environment itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from opensearchpy import OpenSearch

from dagster_project.client import connect
from dagster_project.integrity import keys
from dagster_project.notify.email import send_message
from dagster_project.reports.deliver import recipients_for
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
    WebhookSettings,
)


def _text(resource: dg.ConfigurableResource) -> dict[str, Any]:
    return {name: getattr(resource, name) for name in type(resource).model_fields}


class OpenSearchResource(dg.ConfigurableResource):
    """The cluster (OPENSEARCH_*, the same 7 settings as the CLI); `client()` opens a client for one run."""

    url: str = ""
    """OPENSEARCH_URL; empty means the embedded local node (SIEM_OPENSEARCH_PORT on 127.0.0.1)."""
    user: str = ""
    password: str = ""
    ca_certs: str = ""
    verify_certs: str = ""
    """OPENSEARCH_VERIFY_CERTS: true/false (empty = true)."""
    timeout: str = ""
    """OPENSEARCH_TIMEOUT: seconds (empty = 30)."""
    http_compress: str = ""
    """OPENSEARCH_HTTP_COMPRESS: true/false (empty = false)."""
    local_port: str = ""
    """SIEM_OPENSEARCH_PORT: the local node's port, used when `url` is empty (empty = 9200)."""

    def settings(self) -> ConnectionSettings:
        """The validated OPENSEARCH_* settings."""
        return ConnectionSettings.from_text(_text(self))

    @property
    def local_url(self) -> str:
        """The local node's URL."""
        return NodeSettings.from_text({"opensearch_port": self.local_port}).url

    @property
    def effective_url(self) -> str:
        """The configured URL, or the local node's."""
        return self.settings().url or self.local_url

    @contextmanager
    def client(self) -> Iterator[OpenSearch]:
        """A new client for this run (the CLI's factory, `client.connect`), closed when the block ends."""
        client = connect(self.settings(), self.local_url)
        try:
            yield client
        finally:
            client.close()


class SmtpResource(dg.ConfigurableResource):
    """The SMTP server (SIEM_SMTP_*) that alert and report e-mails go through; empty host = no e-mail."""

    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""
    sender: str = ""
    starttls: str = ""
    ssl: str = ""
    timeout: str = ""
    alert_to: str = ""

    def settings(self) -> SmtpSettings:
        """The validated SIEM_SMTP_* settings."""
        return SmtpSettings.from_text(_text(self))

    def send(self, message: EmailMessage) -> None:
        """Send one message through the suite's sender (`notify.email.send_message`)."""
        send_message(self.settings(), message)


class WebhookResource(dg.ConfigurableResource):
    """The endpoint new alerts are posted to (SIEM_WEBHOOK_*); empty URL = no webhook."""

    url: str = ""
    token: str = ""
    ca_certs: str = ""
    verify_certs: str = ""
    timeout: str = ""

    def settings(self) -> WebhookSettings:
        """The validated SIEM_WEBHOOK_* settings."""
        return WebhookSettings.from_text(_text(self))


class SigningKeyResource(dg.ConfigurableResource):
    """The Ed25519 key that signs integrity digests (SIEM_SIGNING_KEY or _KEY_FILE), and the public key."""

    key: str = ""
    key_file: str = ""
    public_key_file: str = ""

    def settings(self) -> SigningSettings:
        """The validated SIEM_SIGNING_* settings."""
        return SigningSettings.from_text(_text(self))

    def private_key(self) -> Ed25519PrivateKey:
        """The signing key; ConfigurationError when none is configured."""
        return keys.private_key(self.settings())

    def public_key(self) -> Ed25519PublicKey:
        """The key that verifies digests; ConfigurationError when none is configured."""
        return keys.public_key(self.settings())

    def public_key_if_configured(self) -> Ed25519PublicKey | None:
        """The key that verifies digests, or None when no signing setting is set (unusable: an error)."""
        return keys.public_key_if_configured(self.settings())


class DashboardsResource(dg.ConfigurableResource):
    """OpenSearch Dashboards (OPENSEARCH_DASHBOARDS_*); its credentials and TLS are the cluster's."""

    url: str = ""
    timeout: str = ""

    def settings(self) -> DashboardsSettings:
        """The validated OPENSEARCH_DASHBOARDS_* settings."""
        return DashboardsSettings.from_text(_text(self))


class LandingResource(dg.ConfigurableResource):
    """Where files wait to be ingested: SIEM_LANDING_DIR, else SIEM_HOME/landing."""

    landing_dir: str = ""
    home: str = ""

    @property
    def root(self) -> Path:
        """The landing directory."""
        home = NodeSettings.from_text({"home": self.home}).home
        return FolderSettings.from_text({"landing_dir": self.landing_dir}).landing_root(home)


class ReportsResource(dg.ConfigurableResource):
    """Where delivered reports are kept (SIEM_REPORTS_DIR, else SIEM_HOME/reports) and who receives them."""

    reports_dir: str = ""
    home: str = ""
    recipients_file: str = ""
    """A recipients file instead of reports/recipients.yaml (not an environment variable; for tests and odd setups)."""

    @property
    def root(self) -> Path:
        """The reports directory."""
        home = NodeSettings.from_text({"home": self.home}).home
        return FolderSettings.from_text({"reports_dir": self.reports_dir}).reports_root(home)

    def recipients(self, framework: str) -> tuple[str, ...]:
        """The officers of a framework: SIEM_REPORT_RECIPIENTS_<FRAMEWORK> when set, else reports/recipients.yaml.

        The one setting read at run time: its variable names follow the frameworks in reports/frameworks/.
        """
        return recipients_for(framework, Path(self.recipients_file) if self.recipients_file else None)


class RetentionResource(dg.ConfigurableResource):
    """How long events are kept, from event time: SIEM_RETENTION_DAYS (365) and SIEM_HOT_DAYS (90); SIEM_REPLICAS."""

    retention_days: str = ""
    hot_days: str = ""
    replicas: str = ""

    def settings(self) -> RetentionSettings:
        """The validated retention settings."""
        return RetentionSettings.from_text(_text(self))


class AlertPolicyResource(dg.ConfigurableResource):
    """Which findings become alerts: SIEM_ALERT_MIN_LEVEL (high) and SIEM_ALERT_WINDOW_MINUTES (60)."""

    min_level: str = ""
    window_minutes: str = ""

    def settings(self) -> AlertSettings:
        """The validated alert settings."""
        return AlertSettings.from_text(_text(self))


class QualityResource(dg.ConfigurableResource):
    """Thresholds of the data-quality checks: SIEM_FRESHNESS_HOURS, SIEM_VOLUME_*, SIEM_DQ_SAMPLE_SIZE."""

    freshness_hours: str = ""
    volume_k: str = ""
    volume_days: str = ""
    volume_mad_floor: str = ""
    dq_sample_size: str = ""

    def settings(self) -> QualitySettings:
        """The validated data-quality settings."""
        return QualitySettings.from_text(_text(self))


class ConcurrencyResource(dg.ConfigurableResource):
    """How many steps may write to OpenSearch at once: SIEM_OPENSEARCH_WRITERS (2), the writers pool's slots."""

    opensearch_writers: str = ""

    def settings(self) -> ConcurrencySettings:
        """The validated concurrency settings."""
        return ConcurrencySettings.from_text(_text(self))


class RulesResource(dg.ConfigurableResource):
    """Which Sigma rules run beside the curated ones: SIEM_RULE_PACKS (folders, `:`) and SIEM_RULE_MIN_STATUS (test)."""

    packs: str = ""
    min_status: str = ""
    arrival: str = ""

    def settings(self) -> RuleSettings:
        """The validated rule-pack settings."""
        return RuleSettings.from_text(_text(self))


class SpoolResource(dg.ConfigurableResource):
    """The receivers' spool (SIEM_SPOOL_DIR, else SIEM_HOME/spool); ingested segments go to SIEM_SPOOL_ARCHIVE_DIR."""

    dir: str = ""
    archive_dir: str = ""
    home: str = ""

    def settings(self) -> SpoolSettings:
        """The validated spool settings (the two this resource holds; the rest are the receiver's)."""
        return SpoolSettings.from_text({"dir": self.dir, "archive_dir": self.archive_dir})

    @property
    def root(self) -> Path:
        """The spool directory."""
        return self.settings().root(NodeSettings.from_text({"home": self.home}).home)

    @property
    def archive(self) -> Path | None:
        """Where ingested segments are moved, or None to delete them."""
        return self.settings().archive_dir
