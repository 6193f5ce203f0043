"""SIEM_HOME and SIEM_OPENSEARCH_*: where the suite keeps its files and how it runs its local nodes.

Node k (1-based) of the local cluster listens on SIEM_OPENSEARCH_PORT + k - 1 (HTTP) and on
SIEM_OPENSEARCH_TRANSPORT_PORT + k - 1 (transport; default HTTP + 100, so one node on 9200 uses 9300).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings
from dagster_project.settings.opensearch import ConnectionSettings

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


class NodeSettings(SuiteSettings):
    """SIEM_HOME, and the embedded nodes: SIEM_OPENSEARCH_PORT, _SECURE_PORT, _HEAP, _START_TIMEOUT, _USER."""

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    home: Path = Field(default_factory=default_home)
    """SIEM_HOME: cache, local node, and the default landing and reports folders."""
    opensearch_port: int = 9200
    """SIEM_OPENSEARCH_PORT: the plain local node's HTTP port (127.0.0.1)."""
    opensearch_transport_port: int | None = Field(default=None, ge=1, le=65535)
    """SIEM_OPENSEARCH_TRANSPORT_PORT: the first local node's transport port (empty = HTTP port + 100)."""
    opensearch_nodes: int | None = Field(default=None, ge=1)
    """SIEM_OPENSEARCH_NODES: how many local nodes `siem opensearch up` runs (empty = as last time, else 1)."""
    opensearch_secure_port: int = 9201
    """SIEM_OPENSEARCH_SECURE_PORT: the secure node's HTTPS port (its home is SIEM_HOME/secure)."""
    opensearch_heap: str = "1g"
    """SIEM_OPENSEARCH_HEAP: JVM heap of each local node, like 512m or 1g."""
    opensearch_start_timeout: float = 180.0
    """SIEM_OPENSEARCH_START_TIMEOUT: seconds `siem opensearch up` waits for a healthy node."""
    opensearch_user: str = ""
    """SIEM_OPENSEARCH_USER: the account the node runs as when root starts it (empty = `naming.SERVICE_USER`)."""

    @field_validator("opensearch_heap")
    @classmethod
    def _heap(cls, value: str) -> str:
        if not value or not value[:-1].isdigit() or value[-1].lower() not in "mg":
            raise ValueError("heap must look like 512m or 1g")
        return value

    @property
    def url(self) -> str:
        """The local node's HTTP URL (the first node's, when there are several)."""
        return local_url(self.opensearch_port)

    @property
    def transport_port(self) -> int:
        """The first local node's transport port."""
        return self.opensearch_transport_port or self.opensearch_port + 100


def local_url(port: int) -> str:
    """The HTTP URL of a local node on `port`."""
    return f"http://{LOCAL_HOST}:{port}"


def effective_url(connection: ConnectionSettings, node: NodeSettings) -> str:
    """OPENSEARCH_URL when set, else the local node's URL."""
    return connection.url or node.url
