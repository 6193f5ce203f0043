"""The one client factory: opensearch-py clients from the OPENSEARCH_* settings, for the CLI and Dagster alike.

`connect(settings, local_url)` is the only way the suite builds a client from settings: the CLI passes
what it read from the environment (`client_from_env`), the Dagster `OpenSearchResource` what `dg.EnvVar`
delivered; both end in `client_options`, so they cannot drift apart. The URL may name several nodes of
one cluster, separated by commas: the client uses them all (a failed node is left for the next one, as
`dagster_project.retries` states).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.retries import TRANSPORT as TRANSPORT_RETRY
from dagster_project.serializer import OrjsonSerializer
from dagster_project.settings import ConnectionSettings, NodeSettings, url_list

log = logging.getLogger(__name__)


CONNECTIONS_PER_NODE = 4
"""Kept-alive connections per node: ingestion's bulk writers in flight (`ingest.pipeline.BULK_IN_FLIGHT`) and a
search beside them; urllib3 keeps one by default, and opened and closed a connection per request over that."""


def client_options(
    url: str,
    *,
    user: str = "",
    password: str = "",
    ca_certs: str = "",
    verify_certs: bool = True,
    timeout: float = 30.0,
    http_compress: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of `OpenSearch(...)` for one cluster at `url` (one URL, or several comma-separated).

    Pure; the serializer is added by the caller.
    """
    hosts = url_list(url)
    kwargs: dict[str, Any] = {
        "hosts": hosts,
        "timeout": timeout,
        **TRANSPORT_RETRY,
        # Compression costs more CPU than it saves on loopback or a LAN; turn it on for slow links.
        "http_compress": http_compress,
        "pool_maxsize": CONNECTIONS_PER_NODE,
    }
    if user:
        kwargs["http_auth"] = (user, password)
    if any(host.startswith("https://") for host in hosts):
        kwargs["use_ssl"] = True
        kwargs["verify_certs"] = verify_certs
        if ca_certs:
            kwargs["ca_certs"] = ca_certs
        if not verify_certs:
            kwargs["ssl_show_warn"] = False
    return kwargs


def settings_options(connection: ConnectionSettings, local_url: str) -> dict[str, Any]:
    """`client_options` for a cluster's settings: OPENSEARCH_URL, or `local_url` when it is empty."""
    return client_options(
        connection.url or local_url,
        user=connection.user,
        password=connection.password.get_secret_value(),
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        timeout=connection.timeout,
        http_compress=connection.http_compress,
    )


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
    """A client for one cluster; retries as `dagster_project.retries` states, verifies TLS unless told not to."""
    options = client_options(
        url,
        user=user,
        password=password,
        ca_certs=ca_certs,
        verify_certs=verify_certs,
        timeout=timeout,
        http_compress=http_compress,
    )
    return _open(options)


def connect(connection: ConnectionSettings, local_url: str) -> OpenSearch:
    """A client for these settings (OPENSEARCH_URL, else `local_url`): what the CLI and the resource both use."""
    return _open(settings_options(connection, local_url))


def client_from_env() -> OpenSearch:
    """A client for OPENSEARCH_URL (or the local node) with the OPENSEARCH_* auth and TLS settings."""
    return connect(ConnectionSettings(), NodeSettings().url)


@contextmanager
def opened_client() -> Iterator[OpenSearch]:
    """A client from the environment that is closed when the block ends."""
    client = client_from_env()
    try:
        yield client
    finally:
        client.close()


def _open(options: dict[str, Any]) -> OpenSearch:
    if options.get("use_ssl") and not options.get("verify_certs", True):
        log.warning("TLS certificate verification is OFF for %s (OPENSEARCH_VERIFY_CERTS=false)", options["hosts"][0])
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    return OpenSearch(**options, serializer=OrjsonSerializer())
