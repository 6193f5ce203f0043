"""Dagster resources: the OpenSearch connection, configured from the environment, one client per run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from opensearchpy import OpenSearch

from dagster_project.client import make_client
from dagster_project.settings import NodeSettings, url_list


class OpenSearchResource(dg.ConfigurableResource):
    """Where the cluster is and how to authenticate; `client()` opens a client for one run and closes it."""

    url: str = ""
    """Empty means the embedded local nodes (from SIEM_OPENSEARCH_PORT on 127.0.0.1); several URLs: comma-separated."""
    user: str = ""
    password: str = ""
    ca_certs: str = ""
    verify_certs: bool = True
    timeout: float = 60.0

    @property
    def effective_url(self) -> str:
        """The configured URL(s), or the local nodes'."""
        return ",".join(url_list(self.url)) or ",".join(NodeSettings().urls)

    @contextmanager
    def client(self) -> Iterator[OpenSearch]:
        """A new client for this run, closed when the block ends."""
        client = make_client(
            self.effective_url,
            user=self.user,
            password=self.password,
            ca_certs=self.ca_certs,
            verify_certs=self.verify_certs,
            timeout=self.timeout,
        )
        try:
            yield client
        finally:
            client.close()


def opensearch_from_env() -> OpenSearchResource:
    """The resource wired to OPENSEARCH_URL / OPENSEARCH_USER / OPENSEARCH_PASSWORD / OPENSEARCH_CA_CERTS."""
    return OpenSearchResource(
        url=dg.EnvVar("OPENSEARCH_URL"),
        user=dg.EnvVar("OPENSEARCH_USER"),
        password=dg.EnvVar("OPENSEARCH_PASSWORD"),
        ca_certs=dg.EnvVar("OPENSEARCH_CA_CERTS"),
    )
