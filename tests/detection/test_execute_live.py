"""Batched rule execution against the real node: it finds exactly what running each rule alone finds.

The reference is the execution hunts had before counting was batched: every plain rule on its own, all of its
events scrolled. Over the shared samples of every curated log source, each rule's findings (ids) and
`matched` must equal that reference's, rule by rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import OpenSearch, helpers

from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.execute import MSEARCH_BATCH, count_matches, matching_events
from dagster_project.detection.hunt import finding_id, hunt, select_rules
from dagster_project.errors import DetectionError
from dagster_project.ingest.pipeline import ingest
from dagster_project.retries import ShardRetry
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def samples(clean_siem: OpenSearch, shared_data: Path) -> OpenSearch:
    """One real sample per curated log source, ingested."""
    bootstrap(clean_siem, RETENTION)
    inputs = {
        "cloudtrail": sorted((shared_data / "cloudtrail" / "invictus_stratus").glob("2*_CloudTrail_*.json")),
        "linux-auth": [shared_data / "linux_auth" / "elastic_auth" / "auth.part1.log"],
        "web-access": sorted((shared_data / "web" / "tomcat_access_attack").glob("*.txt")),
        "windows": [shared_data / "windows" / "evtx_attack_samples"],
    }
    for source, paths in inputs.items():
        assert paths, f"no shared sample for {source}"
        ingest(clean_siem, source, paths, retention=RETENTION)
    clean_siem.indices.refresh(index=naming.events_pattern())
    return clean_siem


def _alone(client: OpenSearch, rule_id: str, compiled: CompiledRule) -> set[str]:
    hits = helpers.scan(client, query=compiled.body(*EVER), index=compiled.index, ignore_unavailable=True)
    return {finding_id(rule_id, hit["_id"]) for hit in hits}


def _stored(client: OpenSearch, rule_id: str) -> set[str]:
    query = {"query": {"term": {"rule.id": rule_id}}, "_source": False}
    return {hit["_id"] for hit in helpers.scan(client, query=query, index=naming.findings_index())}


def test_batched_hunt_finds_exactly_what_each_rule_alone_finds(samples: OpenSearch) -> None:
    rules = select_rules()
    result = hunt(samples, *EVER, rules=rules)
    outcomes = {outcome.id: outcome for outcome in result.rules}
    plain = [(rule, compiled) for rule, compiled in rules if compiled.correlation is None]
    expected = {rule.id: _alone(samples, rule.id, compiled) for rule, compiled in plain}
    assert {rule_id: _stored(samples, rule_id) for rule_id in expected} == expected
    assert {rule_id: (outcomes[rule_id].matched, outcomes[rule_id].findings) for rule_id in expected} == {
        rule_id: (len(ids), len(ids)) for rule_id, ids in expected.items()
    }
    sources_found = {compiled.index for rule, compiled in plain if expected[rule.id]}
    assert len(sources_found) == 4, f"every sample should raise findings, only {sources_found} did"

    # More rules than one request holds: every count still lands on its own rule.
    counts = [len(expected[rule.id]) for rule, _ in plain]
    many = [compiled for _, compiled in plain] * (MSEARCH_BATCH // len(plain) + 2)
    assert count_matches(samples, many, *EVER) == counts * (MSEARCH_BATCH // len(plain) + 2)


def test_a_failing_rule_is_named(opensearch_client: OpenSearch, unique_index: str) -> None:
    opensearch_client.index(index=unique_index, body={"@timestamp": "2024-01-01T00:00:00Z"}, refresh=True)
    broken = CompiledRule("broken-rule", "Broken", "low", unique_index, {"regexp": {"host.name": "["}}, ())
    with pytest.raises(DetectionError, match="broken-rule"):
        count_matches(opensearch_client, [broken], *EVER)


def test_an_answer_some_shards_did_not_give_is_never_taken_as_the_rule_result(
    opensearch_client: OpenSearch, one_shard_fails: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node answers 200 with one match and one failed shard: the count and the events refuse it, by rule."""
    monkeypatch.setattr("dagster_project.retries.SHARD_RETRY", ShardRetry(retries=1, initial_backoff=0.0))
    matching = CompiledRule("partial-rule", "Partial", "low", one_shard_fails, {"wildcard": {"x": "*evil*"}}, ())
    with pytest.raises(DetectionError, match=r"partial-rule: .*1 of 2 shards failed"):
        count_matches(opensearch_client, [matching], *EVER)
    # A rule matching nothing where the shards did answer: opensearch-py's scan ends quietly on such an answer.
    nothing = CompiledRule("empty-rule", "Empty", "low", one_shard_fails, {"wildcard": {"x": "*benign*"}}, ())
    with pytest.raises(DetectionError, match=r"empty-rule: .*1 of 2 shards failed"):
        list(matching_events(opensearch_client, nothing, *EVER, ["@timestamp"]))
    assert list(helpers.scan(opensearch_client, query=nothing.body(*EVER), index=one_shard_fails)) == []
