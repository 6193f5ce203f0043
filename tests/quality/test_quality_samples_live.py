"""The bundled samples pass data quality, and records that lack what PCI DSS 10.2.2 asks of their kind still fail.

The samples are the ones `siem demo` ingests (each source spec's `samples`, from ../shared/data); the
failing records are real sample events with one element taken away, indexed beside them.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from dagster_project.commands.demo_cmd import demo_inputs, samples_dir
from dagster_project.ingest.pipeline import ingest
from dagster_project.quality.model import CheckResult
from dagster_project.quality.runner import run_checks
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=7_300)
PARTITION = datetime.now(UTC).strftime("%Y-%m-%d")
SOURCES = sorted(item.source for item in demo_inputs(samples_dir()))


@pytest.fixture(scope="module")
def samples(opensearch_client: OpenSearch, shared_data: Path) -> Iterator[OpenSearch]:
    """Every demo sample ingested into the test namespace, as `siem demo` does."""
    from tests.conftest import _wipe

    _wipe(opensearch_client)
    bootstrap(opensearch_client, RETENTION)
    for item in demo_inputs(shared_data):
        assert item.files and not item.unmatched, f"samples of {item.source} missing in {shared_data}"
        summary = ingest(
            opensearch_client, item.source, item.files, retention=RETENTION, refresh=True, partition=PARTITION
        )
        assert summary.indexed > 0 and summary.reconciles
    yield opensearch_client
    _wipe(opensearch_client)


def _checks(client: OpenSearch, source: str) -> dict[str, CheckResult]:
    return {r.check: r for r in run_checks(client, source, PARTITION, retention=RETENTION)}


@pytest.mark.parametrize("source", SOURCES)
def test_the_shared_samples_pass_every_check(samples: OpenSearch, source: str) -> None:
    results = _checks(samples, source)
    failed = {name: (r.failing, r.total) for name, r in results.items() if not r.passed}
    assert failed == {}, source
    assert results["required_fields"].total > 0


def _one(client: OpenSearch, source: str, query: dict[str, Any]) -> dict[str, Any]:
    found = client.search(index=naming.events_pattern(source), body={"size": 1, "query": query, "sort": ["_doc"]})
    (hit,) = found["hits"]["hits"]
    return hit


def _without(client: OpenSearch, hit: dict[str, Any], *dotted: str) -> None:
    """A copy of a sample event without some fields, indexed as a record of its own."""
    doc = copy.deepcopy(hit["_source"])
    for path in dotted:
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node[part]
        del node[leaf]
    doc["siem"]["offset"] = -1 - len(dotted)
    doc["siem"]["content_hash"] = hashlib.sha256(repr(sorted(dotted)).encode() + hit["_id"].encode()).hexdigest()
    client.index(index=hit["_index"], id=f"lacks-{'-'.join(dotted)}-{hit['_id']}", body=doc, refresh=True)


# Per source: a sample event of a kind that carries an element, and the element taken from it.
LACKING = [
    ("linux-auth", {"term": {"event.action": "sudo_command"}}, ("user.name",), "who"),
    (
        "linux-auth",
        {"bool": {"filter": [{"term": {"event.action": "ssh_login"}}, {"term": {"event.outcome": "success"}}]}},
        ("source.ip",),
        "origin",
    ),
    ("linux-auth", {"term": {"event.action": "pam_session_opened"}}, ("event.outcome",), "outcome"),
    ("web-access", {"exists": {"field": "url.original"}}, ("source.ip",), "origin"),
    ("web-access", {"exists": {"field": "url.original"}}, ("url.original",), "resource"),
    (
        "cloudtrail",
        {
            "bool": {
                "filter": [{"exists": {"field": "user.name"}}],
                "must_not": [{"exists": {"field": "aws.cloudtrail.userIdentity.invokedBy"}}],
            }
        },
        ("user.name",),
        "who",
    ),
    ("windows", {"term": {"event.code": "4768"}}, ("source.ip",), "origin"),
    ("windows", {"term": {"event.code": "4624"}}, ("user.name",), "who"),
]


@pytest.mark.parametrize(("source", "kind", "removed", "role"), LACKING)
def test_a_record_lacking_what_its_kind_needs_fails(
    samples: OpenSearch, source: str, kind: dict[str, Any], removed: tuple[str, ...], role: str
) -> None:
    hit = _one(samples, source, kind)
    _without(samples, hit, *removed)
    try:
        required = _checks(samples, source)["required_fields"]
        assert not required.passed and required.failing == 1, required.observed
        by_role = required.observed["missing_by_role"]
        assert {r: entry["missing"] for r, entry in by_role.items() if entry["missing"]} == {role: 1}
        assert by_role[role]["sample_ids"] == [f"lacks-{'-'.join(removed)}-{hit['_id']}"]
    finally:
        samples.delete(index=hit["_index"], id=f"lacks-{'-'.join(removed)}-{hit['_id']}", refresh=True)
