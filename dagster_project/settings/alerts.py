"""SIEM_ALERT_*: which findings become alerts and how they are grouped."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class AlertSettings(SuiteSettings):
    """SIEM_ALERT_MIN_LEVEL (high) and SIEM_ALERT_WINDOW_MINUTES (60): which findings alert, how they group."""

    model_config = SettingsConfigDict(env_prefix="SIEM_ALERT_")

    min_level: str = "high"
    """SIEM_ALERT_MIN_LEVEL: the lowest Sigma level that raises an alert."""
    window_minutes: int = Field(default=60, ge=1)
    """SIEM_ALERT_WINDOW_MINUTES: findings of one rule and entity within this window form one alert."""
