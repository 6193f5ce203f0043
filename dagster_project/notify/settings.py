"""Channel settings from the environment: SIEM_WEBHOOK_* and SIEM_SMTP_* (never logged)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
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
    """SIEM_SMTP_HOST (empty = no email), _PORT, _USER, _PASSWORD, _FROM, _STARTTLS, _SSL, _TIMEOUT, _ALERT_TO.

    One set of settings for every e-mail the suite sends (alerts and reports).
    """

    model_config = SettingsConfigDict(env_prefix="SIEM_SMTP_", extra="ignore", populate_by_name=True)

    host: str = ""
    port: int = 587
    user: str = ""
    password: SecretStr = SecretStr("")
    sender: str = Field(default="siem@localhost", validation_alias=AliasChoices("SIEM_SMTP_FROM", "sender"))
    starttls: bool = True
    ssl: bool = False
    alert_to: str = ""
    """Comma-separated recipients of alert emails."""
    timeout: float = 30.0

    @property
    def alert_recipients(self) -> list[str]:
        """SIEM_SMTP_ALERT_TO as a list."""
        return [r.strip() for r in self.alert_to.split(",") if r.strip()]
