"""Events whose write answer was lost still end up chained: `siem verify` stays clean after retries and re-runs.

Faults are injected by wrapping the real client: the request reaches the node (it is applied), then its
answer is lost: the client times out, and ingestion's idempotent bulk retry (dagster_project.retries) sends
the chunk again, whose events then answer 409. Ingestion has several bulk requests in flight, so which
documents make up a chunk, and how many chunks there are, depend on timing: the wrapper records what each
request carried, and the tests count from that.
"""

from __future__ import annotations

import json
import threading
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
"""With ingestion's 2,000-document chunks: at least three bulk requests."""


class LostAnswers:
    """The real client, except that the `lose`-th `bulk` call to start is applied and then answered with `failure`.

    `sent` holds the event ids of each call, in the order the calls started; `lost` those of the call whose
    answer was lost.
    """

    def __init__(self, client: OpenSearch, lose: int, failure: Exception) -> None:
        self._client = client
        self._lose = lose
        self._failure = failure
        self._lock = threading.Lock()
        self.sent: list[list[str]] = []
        self.lost: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        ids = [json.loads(line)["create"]["_id"] for line in kwargs["body"].split("\n")[0::2] if line]
        with self._lock:
            self.sent.append(ids)
            number = len(self.sent)
        answer = self._client.bulk(*args, **kwargs)
        if number == self._lose:
            self.lost = ids
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
    lost = len(lossy.lost)
    resent = [ids for ids in lossy.sent if ids == lossy.lost]
    assert lost > 0 and resent == [lossy.lost] * 2, "the lost chunk, sent twice"
    assert sum(map(len, lossy.sent)) == RECORDS + lost, "and every other event once"
    assert summary.reconciles and summary.indexed == RECORDS - lost and summary.duplicates == lost
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
    stored = siem.count(index=naming.events_pattern())["count"]
    applied = {event for ids in failing.sent for event in ids}
    assert stored == len(applied), "what was sent before the run stopped (a request in flight beside it too)"
    before = _verify(siem)
    assert len(failing.lost) > 0 and len(before["injected"]) == len(failing.lost), "the unanswered chunk is not chained"
    rerun = ingest(siem, "linux-auth", [path], retention=RETENTION, refresh=True)
    assert rerun.reconciles and (rerun.indexed, rerun.duplicates) == (RECORDS - stored, stored)
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
