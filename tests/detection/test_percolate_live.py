"""Detection on arrival by percolation finds exactly what the retro-hunt finds, event for event, on real samples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.commands.demo_cmd import demo_inputs
from dagster_project.detection import percolate
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import RetentionSettings, RuleSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
PACKS = ("cloud/aws",)
"""SigmaHQ folders run beside the curated rules (whose Windows, Linux and web rules cover `.caseless` and regexes)."""


@pytest.fixture(scope="module")
def samples(opensearch_client: OpenSearch, shared_data: Path) -> Iterator[OpenSearch]:
    """Every demo sample ingested (module-scoped: both tests only read the events)."""
    client = opensearch_client
    client.indices.delete(index=f"{naming.prefix()}-*", ignore_unavailable=True, expand_wildcards="all")
    bootstrap(client, RETENTION)
    for item in demo_inputs(shared_data):
        assert ingest(client, item.source, item.files, retention=RETENTION, refresh=True).indexed > 0
    yield client
    client.indices.delete(index=f"{naming.prefix()}-*", ignore_unavailable=True, expand_wildcards="all")


def _rules(shared_data: Path) -> list:  # type: ignore[type-arg]
    packs = ":".join(str(shared_data / "sigma" / "sigmahq" / "rules" / folder) for folder in PACKS)
    return select_rules(settings=RuleSettings.from_text({"packs": packs}))


def _finding_ids(client: OpenSearch, runner: str) -> set[str]:
    client.indices.refresh(index=naming.findings_index())
    query = {"query": {"term": {"runner": runner}}, "_source": False, "size": 10_000}
    return {hit["_id"] for hit in client.search(index=naming.findings_index(), body=query)["hits"]["hits"]}


def test_the_node_has_the_percolator(opensearch_client: OpenSearch) -> None:
    assert percolate.available(opensearch_client)


def test_percolating_the_events_matches_what_the_hunt_matches_rule_for_rule(
    samples: OpenSearch, shared_data: Path
) -> None:
    rules = _rules(shared_data)
    plain = [(rule, compiled) for rule, compiled in rules if compiled.correlation is None]
    hunted = hunt(samples, *EVER, rules=plain)
    expected = {outcome.id: outcome.matched for outcome in hunted.rules if outcome.matched}
    assert len(expected) >= 10, "the samples match a good number of rules"
    hunted_ids = _finding_ids(samples, "retro-hunt")

    registered = percolate.register(samples, rules)
    assert registered.changed == len(plain) and registered.removed == 0
    found = percolate.detect_range(samples, registered, *EVER)
    assert found.events == samples.count(index=naming.events_pattern())["count"]
    assert {rule_id: n for rule_id, n in found.matched.items() if n} == expected
    assert found.findings == 0  # the same deterministic ids the hunt wrote: nothing new
    assert hunted_ids and _finding_ids(samples, "percolator") == hunted_ids

    again = percolate.register(samples, rules)
    assert (again.changed, again.removed) == (0, 0)  # stored once per rule content
    fewer = percolate.register(samples, [pair for pair in rules if pair[0].pack != "aws"])
    assert fewer.changed == 0 and fewer.removed == sum(1 for rule, c in plain if rule.pack == "aws")
