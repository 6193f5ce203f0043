"""Where OpenSearch Dashboards is: OPENSEARCH_DASHBOARDS_URL (empty = no Dashboards to deploy to)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardsSettings(BaseSettings):
    """OPENSEARCH_DASHBOARDS_URL and the request timeout; credentials and TLS come from OPENSEARCH_*."""

    model_config = SettingsConfigDict(env_prefix="OPENSEARCH_DASHBOARDS_", extra="ignore")

    url: str = ""
    timeout: float = Field(default=60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip().rstrip("/")
