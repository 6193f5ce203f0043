"""The retry policy (dagster_project/retries.py), counted at the wire: how many requests a failing node receives.

A real HTTP server stands in front of the real node and fails `_bulk` requests; the client is the suite's own
(`make_client`), so the transport's retries, the timeout retries and `streaming_bulk`'s 429 retries all act
as they do in production. The first chunk of every run goes through, then every bulk request fails: with one
writer, the proxy's count minus one is what one failing chunk costs. With the default writers in flight
(`BULK_IN_FLIGHT`), each failing chunk costs the same, the others' chunks may fail beside it, and what was
acknowledged before the failure is still counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.client import make_client
from dagster_project.errors import IngestError
from dagster_project.ingest.pipeline import BULK_IN_FLIGHT, CHUNK_SIZE, ingest
from dagster_project.retries import TRANSPORT_RETRIES, BulkRetry
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.fault_proxy import Faults, fault_proxy

pytestmark = pytest.mark.live

LONG_RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
AUTH_LINE = "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Failed password for root from 85.245.107.41 port {} ssh2"
FAST = BulkRetry(initial_backoff=0.01, max_backoff=0.05, request_timeout=10.0)
"""The production policy's counts with short pauses and a shorter timeout (still ample for a 2,000-event chunk)."""


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """A cluster with the suite's templates applied and no siem data."""
    bootstrap(clean_siem, LONG_RETENTION)
    yield clean_siem


@pytest.fixture
def two_chunks(tmp_path: Path) -> Path:
    """An auth log of two chunks and a half: distinct lines, all valid."""
    path = tmp_path / "auth.log"
    path.write_text("".join(AUTH_LINE.format(port) + "\n" for port in range(CHUNK_SIZE * 2 + 500)))
    return path


def test_the_policy_states_the_counts_these_tests_measure() -> None:
    assert TRANSPORT_RETRIES == 2
    assert (BulkRetry().rejected_retries, BulkRetry().timeout_retries) == (6, 2)
    assert (FAST.rejected_retries, FAST.timeout_retries) == (BulkRetry().rejected_retries, BulkRetry().timeout_retries)


@pytest.mark.parametrize(
    ("fault", "requests_per_chunk", "says"),
    [
        ("503", 1 + TRANSPORT_RETRIES, "HTTP 503"),
        ("drop", 1 + TRANSPORT_RETRIES, "connection failed"),
        ("429", 1 + FAST.rejected_retries, "HTTP 429"),
        ("hold", 1 + FAST.timeout_retries, "request timed out"),
    ],
)
@pytest.mark.parametrize("writers", [1, BULK_IN_FLIGHT])
def test_a_persistently_failing_node_gets_a_known_number_of_requests_then_a_clear_error(
    siem: OpenSearch,
    opensearch_url: str,
    two_chunks: Path,
    fault: str,
    requests_per_chunk: int,
    says: str,
    writers: int,
) -> None:
    with fault_proxy(opensearch_url, Faults(fault, first=2)) as proxy:  # type: ignore[arg-type]
        client = make_client(proxy.url)
        try:
            with pytest.raises(IngestError) as raised:
                ingest(client, "linux-auth", [two_chunks], retention=LONG_RETENTION, retry=FAST, writers=writers)
        finally:
            client.close()
    failed_chunks, rest = divmod(proxy.failed_bulk_requests, requests_per_chunk)
    assert rest == 0 and proxy.bulk_requests == 1 + proxy.failed_bulk_requests, f"{fault}: one good chunk first"
    assert failed_chunks == 1 if writers == 1 else 1 <= failed_chunks <= writers, f"{fault}: failing chunks"
    message = str(raised.value)
    assert says in message and "after its retries" in message, message
    assert f"{CHUNK_SIZE} events indexed before it" in message
    assert raised.value.where == proxy.url.removeprefix("http://")


def _chunks_sent(writers: int) -> set[int]:
    """Chunks of the two-and-a-half-chunk file: 3 with one writer; each writer may end on a part chunk."""
    return {3} if writers == 1 else {3, 4}


@pytest.mark.parametrize("writers", [1, BULK_IN_FLIGHT])
@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_transient_failure_is_retried_by_the_transport_and_nothing_is_lost(
    siem: OpenSearch, opensearch_url: str, two_chunks: Path, fault: str, writers: int
) -> None:
    with fault_proxy(opensearch_url, Faults(fault, first=2, last=2)) as proxy:  # type: ignore[arg-type]
        client = make_client(proxy.url)
        try:
            summary = ingest(
                client, "linux-auth", [two_chunks], retention=LONG_RETENTION, retry=FAST, refresh=True, writers=writers
            )
        finally:
            client.close()
    lines = CHUNK_SIZE * 2 + 500
    assert proxy.failed_bulk_requests == 1 and proxy.bulk_requests - 1 in _chunks_sent(writers)
    assert summary.reconciles and (summary.indexed, summary.duplicates, summary.quarantined) == (lines, 0, 0)
    assert siem.count(index=naming.events_pattern("linux-auth"))["count"] == lines


@pytest.mark.parametrize("writers", [1, BULK_IN_FLIGHT])
def test_a_timed_out_chunk_is_sent_again_and_its_documents_are_not_doubled(
    siem: OpenSearch, opensearch_url: str, two_chunks: Path, writers: int
) -> None:
    with fault_proxy(opensearch_url, Faults("hold", first=2, last=2)) as proxy:
        client = make_client(proxy.url)
        try:
            summary = ingest(
                client, "linux-auth", [two_chunks], retention=LONG_RETENTION, retry=FAST, refresh=True, writers=writers
            )
        finally:
            client.close()
    lines = CHUNK_SIZE * 2 + 500
    assert proxy.failed_bulk_requests == 1 and proxy.bulk_requests - 1 in _chunks_sent(writers)
    assert summary.reconciles and summary.indexed == lines
    assert siem.count(index=naming.events_pattern("linux-auth"))["count"] == lines
