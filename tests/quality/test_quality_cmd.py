"""`siem quality`: the same checks from the command line; exit 1 only if a blocking check fails with ERROR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from opensearchpy import OpenSearch

import dagster_project.commands.quality_cmd  # noqa: F401  (registers the command)
from dagster_project.cli import cli
from dagster_project.quality.model import CHECKS
from dagster_project.sources.registry import source_names
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.quality.builders import LONG_RETENTION, PARTITION, event, hours_before, ingest_docs, jsonl

pytestmark = pytest.mark.live


@pytest.fixture
def siem(clean_siem: OpenSearch, opensearch_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenSearch]:
    """A cluster with the suite's templates, and the CLI pointed at it."""
    bootstrap(clean_siem, LONG_RETENTION)
    monkeypatch.setenv("OPENSEARCH_URL", opensearch_url)
    yield clean_siem


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["quality", *args], catch_exceptions=False)


def test_json_lists_every_result_and_exits_1_on_a_blocking_error(siem: OpenSearch, tmp_path: Path) -> None:
    others = [r.role for r in jsonl().required if r.role != "when"]
    ingest_docs(siem, tmp_path / "bare.jsonl", [event(jsonl(), i, hours_before(1), without=others) for i in range(4)])
    result = run("--source", "jsonl", "--date", PARTITION, "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert (data["partition"], data["sources"], data["passed"]) == (PARTITION, ["jsonl"], False)
    assert data["blocking_failures"] == ["jsonl/required_fields"]
    assert data["failures"] == ["jsonl/required_fields"]
    assert [r["check"] for r in data["results"]] == list(CHECKS)
    required = data["results"][list(CHECKS).index("required_fields")]
    assert (required["total"], required["failing"], required["severity"], required["blocks"]) == (
        4,
        4,
        "error",
        True,
    )


def test_a_warning_does_not_fail_the_command(siem: OpenSearch, tmp_path: Path) -> None:
    docs = [event(jsonl(), i, hours_before(1)) for i in range(5)] + [
        event(jsonl(), 9, hours_before(1), without=["who"])
    ]
    ingest_docs(siem, tmp_path / "some.jsonl", docs)
    result = run("--source", "jsonl", "--date", PARTITION)
    assert result.exit_code == 0, result.output
    assert "FAIL warn  jsonl       required_fields                 1/6" in result.output
    assert result.output.rstrip().endswith(f"{PARTITION}: {len(CHECKS)} checks, 1 failed, 0 blocking")


def test_default_is_every_source_today(siem: OpenSearch) -> None:
    result = run("--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sources"] == source_names()
    assert len(data["results"]) == len(source_names()) * len(CHECKS)
    siem.indices.refresh(index=naming.dq_index())
    assert siem.count(index=naming.dq_index())["count"] == len(data["results"])


def test_a_bad_date_is_refused(siem: OpenSearch) -> None:
    from dagster_project.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="is not a day"):
        run("--date", "27/11/2026")
