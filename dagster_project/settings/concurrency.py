"""SIEM_OPENSEARCH_WRITERS: how many steps may write to OpenSearch at once, across every Dagster run."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class ConcurrencySettings(SuiteSettings):
    """The slots of the Dagster pool every bulk writer to OpenSearch shares (ingestion, detection)."""

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    opensearch_writers: int = Field(default=2, ge=1)
    """SIEM_OPENSEARCH_WRITERS: steps writing to OpenSearch at once; the others wait in the run queue."""
