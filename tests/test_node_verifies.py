"""After the live tests, the test namespace verifies over all time: the tests leave nothing unverifiable behind.

Tests delete what they create (whole namespaces: events, chain records, digests, findings, dq results);
one that deleted its events but left their chain records, or wrote events no record seals, fails this.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from dagster_project.storage import naming

pytestmark = [pytest.mark.live, pytest.mark.after_live]


@pytest.mark.parametrize("by", ["event", "ingested"])
def test_the_test_namespace_verifies_after_the_live_tests(opensearch_client: OpenSearch, by: str) -> None:
    assert naming.prefix() == "siemtest"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project",
            "verify",
            "--from",
            "2000-01-01",
            "--to",
            tomorrow,
            "--by",
            by,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    summary = {k: len(v) if isinstance(v, list) else v for k, v in report.items()}
    assert done.returncode == 0 and report["ok"], summary
