"""Settings read from the environment: where the cluster is, how to reach it, where the suite keeps files."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_HOST = "127.0.0.1"


def default_home() -> Path:
    """Where the suite caches artifacts and runs its local node.

    Root's home is usually private (mode 700), and the node runs as an unprivileged user when started
    by root, so root's default is /var/cache/siem; everyone else's is ~/.cache/siem.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/cache/siem")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "siem"


class ConnectionSettings(BaseSettings):
    """How to reach OpenSearch: OPENSEARCH_URL (empty = the embedded local node), auth and TLS options."""

    model_config = SettingsConfigDict(env_prefix="OPENSEARCH_", extra="ignore")

    url: str = ""
    user: str = ""
    password: SecretStr = SecretStr("")
    ca_certs: str = ""
    verify_certs: bool = True
    timeout: float = 30.0
    http_compress: bool = False

    @field_validator("url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip().rstrip("/")


class NodeSettings(BaseSettings):
    """The embedded local node: SIEM_HOME, SIEM_OPENSEARCH_PORT, SIEM_OPENSEARCH_HEAP, start deadline."""

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    opensearch_port: int = 9200
    opensearch_heap: str = "1g"
    opensearch_start_timeout: float = 180.0
    opensearch_user: str = "siem-opensearch"

    @field_validator("opensearch_heap")
    @classmethod
    def _heap(cls, value: str) -> str:
        if not value or not value[:-1].isdigit() or value[-1].lower() not in "mg":
            raise ValueError("heap must look like 512m or 1g")
        return value

    @property
    def url(self) -> str:
        """The local node's HTTP URL."""
        return f"http://{LOCAL_HOST}:{self.opensearch_port}"


def effective_url(connection: ConnectionSettings, node: NodeSettings) -> str:
    """OPENSEARCH_URL when set, else the local node's URL."""
    return connection.url or node.url


class RetentionSettings(BaseSettings):
    """How long events are kept, counted from event time: SIEM_RETENTION_DAYS total, SIEM_HOT_DAYS searchable-hot.

    Defaults satisfy PCI DSS 10.5.1: at least 12 months in total, the last 3 months immediately available.
    """

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    retention_days: int = Field(default=365, ge=1)
    hot_days: int = Field(default=90, ge=1)

    def model_post_init(self, __context: object) -> None:
        """Refuse a hot phase longer than the whole retention."""
        if self.hot_days > self.retention_days:
            raise ValueError(f"SIEM_HOT_DAYS ({self.hot_days}) exceeds SIEM_RETENTION_DAYS ({self.retention_days})")

    @property
    def meets_pci_10_5_1(self) -> bool:
        """True when retention is at least 12 months with at least 3 months hot."""
        return self.retention_days >= 365 and self.hot_days >= 90


class LandingSettings(BaseSettings):
    """Where files wait to be ingested: SIEM_LANDING_DIR/<source>/<YYYY-MM-DD>/... (default SIEM_HOME/landing)."""

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    landing_dir: Path | None = None

    @property
    def root(self) -> Path:
        """The landing directory."""
        return self.landing_dir or NodeSettings().home / "landing"
