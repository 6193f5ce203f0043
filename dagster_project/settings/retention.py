"""SIEM_RETENTION_DAYS, SIEM_HOT_DAYS, SIEM_REPLICAS: how long events are kept (from event time), in how many copies."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class RetentionSettings(SuiteSettings):
    """How long events are kept, counted from event time: SIEM_RETENTION_DAYS total, SIEM_HOT_DAYS searchable-hot.

    Defaults satisfy PCI DSS 10.5.1: at least 12 months in total, the last 3 months immediately available.
    """

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    retention_days: int = Field(default=365, ge=1)
    """SIEM_RETENTION_DAYS: days (from event time) before an index is deleted."""
    hot_days: int = Field(default=90, ge=1)
    """SIEM_HOT_DAYS: days an index stays writable before it is made read-only and force-merged."""
    replicas: int | None = Field(default=None, ge=0)
    """SIEM_REPLICAS: replicas of every shard (empty = 0 on one data node, so it stays green; 1 on more)."""

    def model_post_init(self, __context: object) -> None:
        """Refuse a hot phase longer than the whole retention."""
        if self.hot_days > self.retention_days:
            raise ValueError(f"SIEM_HOT_DAYS ({self.hot_days}) exceeds SIEM_RETENTION_DAYS ({self.retention_days})")

    @property
    def meets_pci_10_5_1(self) -> bool:
        """True when retention is at least 12 months with at least 3 months hot."""
        return self.retention_days >= 365 and self.hot_days >= 90
