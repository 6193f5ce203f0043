"""SIEM_WEBHOOK_*: the endpoint alerts are posted to."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class WebhookSettings(SuiteSettings):
    """SIEM_WEBHOOK_URL (empty = no webhook), SIEM_WEBHOOK_TOKEN (sent as a Bearer token), TLS options."""

    model_config = SettingsConfigDict(env_prefix="SIEM_WEBHOOK_")

    url: str = ""
    """SIEM_WEBHOOK_URL: where new alerts are POSTed as JSON; empty means no webhook."""
    token: SecretStr = SecretStr("")
    """SIEM_WEBHOOK_TOKEN: sent as `Authorization: Bearer` (never logged)."""
    ca_certs: str = ""
    """SIEM_WEBHOOK_CA_CERTS: CA bundle that verifies the endpoint."""
    verify_certs: bool = True
    """SIEM_WEBHOOK_VERIFY_CERTS: verify the endpoint's TLS certificate."""
    timeout: float = 10.0
    """SIEM_WEBHOOK_TIMEOUT: seconds per request."""
