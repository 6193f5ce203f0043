"""OPENSEARCH_DASHBOARDS_*: the OpenSearch Dashboards the saved objects are imported into."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class DashboardsSettings(SuiteSettings):
    """OPENSEARCH_DASHBOARDS_URL and the request timeout; credentials and TLS come from OPENSEARCH_*."""

    model_config = SettingsConfigDict(env_prefix="OPENSEARCH_DASHBOARDS_")

    url: str = ""
    """OPENSEARCH_DASHBOARDS_URL: Dashboards' base URL; empty means nothing to import into."""
    timeout: float = Field(default=60.0, gt=0)
    """OPENSEARCH_DASHBOARDS_TIMEOUT: seconds per request."""

    @field_validator("url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip().rstrip("/")
