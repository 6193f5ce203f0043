"""Events whose write answer was lost still end up chained: `siem verify` stays clean after retries and re-runs.

Faults are injected by wrapping the real client: the request reaches the node (it is applied), then its
answer is lost: the client times out, and ingestion's idempotent bulk retry (dagster_project.retries) sends
the chunk again, whose events then answer 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from dagster_project.commands.detect_cmd import day_start
from dagster_project.errors import IngestError
from dagster_project.ingest.pipeline import ingest
from dagster_project.integrity.verify import verify
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
LINE = "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Failed password for root from 85.245.107.41 port {} ssh2\n"
RECORDS = 5000
"""With ingestion's 2,000-document chunks: three bulk requests."""


class LostAnswers:
    """The real client, except that `bulk` call number `lose` is applied and then answered with `failure`."""

    def __init__(self, client: OpenSearch, lose: int, failure: Exception) -> None:
        self._client = client
        self._lose = lose
        self._failure = failure
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        answer = self._client.bulk(*args, **kwargs)
        if self.calls == self._lose:
            raise self._failure
        return answer


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """The suite's templates, no data."""
    bootstrap(clean_siem, RETENTION)
    yield clean_siem


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "auth.log"
    path.write_text("".join(LINE.format(port) for port in range(RECORDS)))
    return path


def _verify(client: OpenSearch) -> dict[str, Any]:
    today = day_start(datetime.now(UTC).date())
    return verify(client, today, today + timedelta(days=1), None).as_json()


def test_a_retried_bulk_whose_first_answer_was_lost_is_chained(siem: OpenSearch, tmp_path: Path) -> None:
    lossy = LostAnswers(siem, 2, ConnectionTimeout("TIMEOUT", "injected: answer lost after the write", None))
    summary = ingest(lossy, "linux-auth", [_log(tmp_path)], retention=RETENTION, refresh=True)  # type: ignore[arg-type]
    assert lossy.calls == 4  # the second chunk was sent twice
    assert summary.reconciles and summary.indexed == RECORDS - 2000 and summary.duplicates == 2000
    assert siem.count(index=naming.events_pattern())["count"] == RECORDS
    report = _verify(siem)
    assert report["ok"], report
    assert report["checked"] == RECORDS and report["injected"] == []


def test_a_failed_run_and_its_rerun_leave_a_clean_chain(siem: OpenSearch, tmp_path: Path) -> None:
    path = _log(tmp_path)
    # The second chunk is applied, then the run fails with an error no retry policy retries.
    failing = LostAnswers(siem, 2, TransportError(400, "injected: failed after the write", {}))
    with pytest.raises(IngestError, match="bulk write failed"):
        ingest(failing, "linux-auth", [path], retention=RETENTION)  # type: ignore[arg-type]
    siem.indices.refresh(index=naming.events_pattern())
    assert siem.count(index=naming.events_pattern())["count"] == 4000
    before = _verify(siem)
    assert len(before["injected"]) == 2000, "the unanswered chunk is not chained yet"
    rerun = ingest(siem, "linux-auth", [path], retention=RETENTION, refresh=True)
    assert rerun.reconciles and (rerun.indexed, rerun.duplicates) == (RECORDS - 4000, 4000)
    report = _verify(siem)
    assert report["ok"], report
    assert report["checked"] == RECORDS, "each event chained once: the first run's acknowledged chunk is not re-adopted"


def test_a_plain_rerun_adopts_nothing(siem: OpenSearch, tmp_path: Path) -> None:
    path = _log(tmp_path)
    ingest(siem, "linux-auth", [path], retention=RETENTION, refresh=True)
    again = ingest(siem, "linux-auth", [path], retention=RETENTION, refresh=True)
    assert (again.indexed, again.duplicates) == (0, RECORDS)
    report = _verify(siem)
    assert report["ok"] and report["checked"] == RECORDS and report["records"] == 3
