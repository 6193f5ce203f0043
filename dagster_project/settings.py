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
    """How to reach OpenSearch: OPENSEARCH_URL (empty = the embedded local node), auth and TLS options.

    OPENSEARCH_URL may name several nodes of one cluster, separated by commas; the client uses all of them.
    """

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
        return ",".join(url_list(value))


def url_list(value: str) -> list[str]:
    """The URLs of a comma-separated OPENSEARCH_URL, in order, without blanks or trailing slashes."""
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


class NodeSettings(BaseSettings):
    """The embedded local cluster: SIEM_HOME, SIEM_OPENSEARCH_NODES, ports, heap per node, start deadline.

    Node k (1-based) listens on SIEM_OPENSEARCH_PORT + k - 1 (HTTP) and SIEM_OPENSEARCH_TRANSPORT_PORT + k - 1
    (transport; default HTTP + 100, so one node on 9200 talks transport on 9300).
    """

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    opensearch_port: int = 9200
    opensearch_transport_port: int | None = None
    opensearch_nodes: int | None = Field(default=None, ge=1)
    """Unset: as many nodes as the last `up` started in SIEM_HOME, else one."""
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
        """The local node's HTTP URL (the first node's, when there are several)."""
        return f"http://{LOCAL_HOST}:{self.opensearch_port}"

    @property
    def transport_port(self) -> int:
        """The first node's transport port."""
        return self.opensearch_transport_port or self.opensearch_port + 100

    @property
    def urls(self) -> list[str]:
        """The HTTP URLs of the SIEM_OPENSEARCH_NODES local nodes (one when unset)."""
        return [f"http://{LOCAL_HOST}:{self.opensearch_port + i}" for i in range(self.opensearch_nodes or 1)]


def effective_url(connection: ConnectionSettings, node: NodeSettings) -> str:
    """OPENSEARCH_URL when set, else the local nodes' URLs (comma-separated when there are several)."""
    return connection.url or ",".join(node.urls)


class RetentionSettings(BaseSettings):
    """How long events are kept, counted from event time: SIEM_RETENTION_DAYS total, SIEM_HOT_DAYS searchable-hot;
    and in how many copies: SIEM_REPLICAS replicas of every shard.

    Defaults satisfy PCI DSS 10.5.1: at least 12 months in total, the last 3 months immediately available.
    """

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    retention_days: int = Field(default=365, ge=1)
    hot_days: int = Field(default=90, ge=1)
    replicas: int | None = Field(default=None, ge=0)
    """Unset: 0 on a one-data-node cluster (so it stays green), 1 on more (a node can die without loss)."""

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
