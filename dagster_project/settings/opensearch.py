"""OPENSEARCH_*: where the cluster is and how to reach it (the CLI and the Dagster resource read the same 7)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class ConnectionSettings(SuiteSettings):
    """OPENSEARCH_URL (empty = the embedded local node), auth, TLS, timeout and compression."""

    model_config = SettingsConfigDict(env_prefix="OPENSEARCH_")

    url: str = ""
    """OPENSEARCH_URL: the cluster, one URL or several separated by commas; empty means the local node."""
    user: str = ""
    """OPENSEARCH_USER: basic-auth user (empty = no auth)."""
    password: SecretStr = SecretStr("")
    """OPENSEARCH_PASSWORD: basic-auth password (never logged)."""
    ca_certs: str = ""
    """OPENSEARCH_CA_CERTS: CA bundle that verifies the cluster's certificate."""
    verify_certs: bool = True
    """OPENSEARCH_VERIFY_CERTS: verify TLS certificates (turning it off logs a warning)."""
    timeout: float = Field(default=30.0, gt=0)
    """OPENSEARCH_TIMEOUT: seconds per request."""
    http_compress: bool = False
    """OPENSEARCH_HTTP_COMPRESS: gzip request bodies (worth it on slow links only)."""

    @field_validator("url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return ",".join(url_list(value))


def url_list(value: str) -> list[str]:
    """The URLs of a comma-separated OPENSEARCH_URL, in order, without blanks or trailing slashes."""
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
