"""SIEM_FRESHNESS_HOURS, SIEM_VOLUME_*, SIEM_DQ_SAMPLE_SIZE: thresholds of the data-quality checks."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings

MAX_SAMPLE = 10_000
"""OpenSearch's default `index.max_result_window`: the largest sample one search can return."""


class QualitySettings(SuiteSettings):
    """Thresholds of the freshness, volume and sample checks."""

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    freshness_hours: float = Field(default=24.0, gt=0)
    """SIEM_FRESHNESS_HOURS: silence longer than this from a source that has sent before is an error."""
    volume_k: float = Field(default=5.0, gt=0)
    """SIEM_VOLUME_K: band = median ± k·MAD of the trailing days (k=5 is about ±3.4σ of normal noise)."""
    volume_days: int = Field(default=7, ge=3, le=60)
    """SIEM_VOLUME_DAYS: how many partitions before the checked one form the baseline."""
    volume_mad_floor: float = Field(default=0.05, ge=0)
    """SIEM_VOLUME_MAD_FLOOR: MAD used is at least this share of the median (steady sources have MAD 0)."""
    dq_sample_size: int = Field(default=MAX_SAMPLE, ge=1, le=MAX_SAMPLE)
    """SIEM_DQ_SAMPLE_SIZE: documents drawn at random for the row-level (GX) checks."""
