"""Builds opensearch-py clients from settings: several nodes, basic auth, TLS verification with a CA file, retries.

Retries: a connection error or a 502/503/504 is retried at once on another node (the transport marks the
failed one dead for a while). A timeout is not retried here: the request may have been applied, so only a
caller whose write is idempotent retries it (ingestion's `create` with deterministic ids does).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from opensearchpy import OpenSearch

from dagster_project.serializer import OrjsonSerializer
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url, url_list

log = logging.getLogger(__name__)


def make_client(
    url: str,
    *,
    user: str = "",
    password: str = "",
    ca_certs: str = "",
    verify_certs: bool = True,
    timeout: float = 30.0,
    http_compress: bool = False,
) -> OpenSearch:
    """A client for one cluster at `url` (one URL or several, comma-separated); verifies TLS unless told not to.

    Retries connection errors and 429/502/503/504 on another node, never timeouts (see the module docstring).
    """
    hosts = url_list(url)
    kwargs: dict[str, object] = {
        "hosts": hosts,
        "timeout": timeout,
        "max_retries": max(3, len(hosts)),
        "retry_on_timeout": False,
        "retry_on_status": (429, 502, 503, 504),
        # Compression costs more CPU than it saves on loopback or a LAN; turn it on for slow links.
        "http_compress": http_compress,
        "serializer": OrjsonSerializer(),
    }
    if user:
        kwargs["http_auth"] = (user, password)
    if any(host.startswith("https://") for host in hosts):
        kwargs["use_ssl"] = True
        kwargs["verify_certs"] = verify_certs
        if ca_certs:
            kwargs["ca_certs"] = ca_certs
        if not verify_certs:
            log.warning("TLS certificate verification is OFF for %s (OPENSEARCH_VERIFY_CERTS=false)", url)
            kwargs["ssl_show_warn"] = False
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    return OpenSearch(**kwargs)  # type: ignore[arg-type]


def client_from_env() -> OpenSearch:
    """A client for OPENSEARCH_URL (or the local node) with the OPENSEARCH_* auth and TLS settings."""
    connection = ConnectionSettings()
    return make_client(
        effective_url(connection, NodeSettings()),
        user=connection.user,
        password=connection.password.get_secret_value(),
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        timeout=connection.timeout,
        http_compress=connection.http_compress,
    )


@contextmanager
def opened_client() -> Iterator[OpenSearch]:
    """A client from the environment that is closed when the block ends."""
    client = client_from_env()
    try:
        yield client
    finally:
        client.close()
