"""The benchmarks leave their namespace verifiable: what they keep is sealed, what they do not keep is gone.

Run small, in a namespace of this test's own (`siemtestbench`), then `siem verify` over all time, by event
and by ingestion, must be `ok` (it reported over a million deleted events after `benchmarks/ingest.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]
PREFIX = "siemtestbench"


@pytest.fixture
def bench_env(opensearch_client: OpenSearch) -> Iterator[dict[str, str]]:
    """The environment of a benchmark run in this test's namespace, wiped before and after."""

    def wipe() -> None:
        opensearch_client.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True, expand_wildcards="all")
        for template in opensearch_client.indices.get_index_template().get("index_templates", []):
            if template["name"].startswith(f"{PREFIX}-"):
                opensearch_client.indices.delete_index_template(name=template["name"])
        for component in opensearch_client.cluster.get_component_template().get("component_templates", []):
            if component["name"].startswith(f"{PREFIX}-"):
                opensearch_client.cluster.delete_component_template(name=component["name"])

    wipe()
    yield dict(os.environ, SIEM_INDEX_PREFIX=PREFIX)
    wipe()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, check=False)


def _verify(env: dict[str, str], by: str) -> dict[str, object]:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    done = _run(env, "-m", "dagster_project", "verify", "--from", "2000-01-01", "--to", tomorrow, "--by", by, "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], (by, done.stdout[:2000])
    return report


def test_benchmarks_leave_a_namespace_that_verifies(bench_env: dict[str, str]) -> None:
    ingest = _run(bench_env, "benchmarks/ingest.py", "--e2e-events", "3000", "--small", "1000", "--large", "2000")
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert [_verify(bench_env, by)["checked"] for by in ("event", "ingested")] == [0, 0]  # it cleaned up
    quality = _run(bench_env, "benchmarks/quality.py", "--events", "3000")
    assert quality.returncode == 0, quality.stderr[-2000:]
    assert json.loads(quality.stdout)["indexed"] == 3000
    assert _verify(bench_env, "event")["verified"] == 3000  # it kept its partition, sealed
