"""Channel settings from the environment: SIEM_WEBHOOK_* and SIEM_SMTP_* (never logged)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    """SIEM_WEBHOOK_URL (empty = no webhook), SIEM_WEBHOOK_TOKEN (sent as a Bearer token), TLS options."""

    model_config = SettingsConfigDict(env_prefix="SIEM_WEBHOOK_", extra="ignore")

    url: str = ""
    token: SecretStr = SecretStr("")
    ca_certs: str = ""
    verify_certs: bool = True
    timeout: float = 10.0


class SmtpSettings(BaseSettings):
    """SIEM_SMTP_HOST (empty = no email), port, user, password, sender, STARTTLS/TLS, alert recipients."""

    model_config = SettingsConfigDict(env_prefix="SIEM_SMTP_", extra="ignore")

    host: str = ""
    port: int = 25
    user: str = ""
    password: SecretStr = SecretStr("")
    sender: str = "siem@localhost"
    starttls: bool = False
    ssl: bool = False
    alert_to: str = ""
    """Comma-separated recipients of alert emails."""
    timeout: float = 30.0

    @property
    def alert_recipients(self) -> list[str]:
        """SIEM_SMTP_ALERT_TO as a list."""
        return [r.strip() for r in self.alert_to.split(",") if r.strip()]
