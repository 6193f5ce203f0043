"""SIEM_SMTP_*: the one SMTP server every e-mail of the suite goes through (alerts and reports)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class SmtpSettings(SuiteSettings):
    """SIEM_SMTP_HOST (empty = no e-mail), _PORT, _USER, _PASSWORD, _FROM, _STARTTLS, _SSL, _TIMEOUT, _ALERT_TO."""

    model_config = SettingsConfigDict(env_prefix="SIEM_SMTP_")

    host: str = ""
    """SIEM_SMTP_HOST: the SMTP server; empty means no e-mail is sent."""
    port: int = 587
    """SIEM_SMTP_PORT: its port."""
    user: str = ""
    """SIEM_SMTP_USER: login (empty = no login)."""
    password: SecretStr = SecretStr("")
    """SIEM_SMTP_PASSWORD: login password (never logged)."""
    sender: str = Field(
        default="siem@localhost", validation_alias=AliasChoices("SIEM_SMTP_FROM", "SIEM_SMTP_SENDER", "sender")
    )
    """SIEM_SMTP_FROM (or SIEM_SMTP_SENDER): the From address."""
    starttls: bool = True
    """SIEM_SMTP_STARTTLS: upgrade the connection with STARTTLS."""
    ssl: bool = False
    """SIEM_SMTP_SSL: implicit TLS (port 465) instead of STARTTLS."""
    timeout: float = 30.0
    """SIEM_SMTP_TIMEOUT: seconds per network operation."""
    alert_to: str = ""
    """SIEM_SMTP_ALERT_TO: comma-separated recipients of alert e-mails."""

    @property
    def alert_recipients(self) -> list[str]:
        """SIEM_SMTP_ALERT_TO as a list."""
        return [r.strip() for r in self.alert_to.split(",") if r.strip()]
