"""Detection on arrival by percolation finds exactly what the retro-hunt finds, event for event, on real samples."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from dagster_project.commands.demo_cmd import demo_inputs
from dagster_project.detection import nrt, percolate
from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.execute import count_matches
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.rules import Rule
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
    assert registered.changed == len(plain) and registered.removed == 0 and registered.refused == []
    found = percolate.detect_range(samples, registered, *EVER)
    with_rules = ",".join(naming.events_pattern(source) for source in registered.by_source)
    assert found.events == samples.count(index=with_rules)["count"]  # every event of every source with rules
    assert {rule_id: n for rule_id, n in found.matched.items() if n} == expected
    assert found.findings == 0  # the same deterministic ids the hunt wrote: nothing new
    assert hunted_ids and _finding_ids(samples, "percolator") == hunted_ids

    again = percolate.register(samples, rules)
    assert (again.changed, again.removed) == (0, 0)  # stored once per rule content
    assert sorted(again.unchanged) == sorted(registered.by_source)  # the stored rule sets' hashes matched
    fewer = percolate.register(samples, [pair for pair in rules if pair[0].pack != "aws"])
    assert fewer.changed == 0 and fewer.removed == sum(1 for rule, c in plain if rule.pack == "aws")


class NoPercolatorClient:
    """The real client, on a cluster whose nodes did not load the percolator module."""

    def __init__(self, real: OpenSearch) -> None:
        self._real = real
        self.nodes = self

    def info(self, **_: Any) -> dict[str, Any]:
        return {"nodes": {"n1": {"modules": [{"name": "transport-netty4"}]}}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_nrt_percolates_the_chosen_events_and_falls_back_to_the_hunt_without_the_module(
    samples: OpenSearch, shared_data: Path
) -> None:
    rules = _rules(shared_data)
    samples.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
    bootstrap(samples, RETENTION)
    plan = nrt.prepare(samples, rules)
    assert plan.runner == "percolator" and any(c.correlation for _, c in plan.hunted)
    percolated = nrt.detect(samples, plan, *EVER)
    written = _finding_ids(samples, "percolator") | _finding_ids(samples, "retro-hunt")
    assert percolated.findings == len(written) > 0 and _finding_ids(samples, "percolator")

    samples.indices.delete(index=naming.findings_index())
    bootstrap(samples, RETENTION)
    fallback = nrt.prepare(NoPercolatorClient(samples), rules)  # type: ignore[arg-type]
    assert (fallback.runner, fallback.registered, fallback.hunted) == ("retro-hunt", None, rules)
    hunted = nrt.detect(samples, fallback, *EVER)
    assert (hunted.findings, hunted.by_rule) == (percolated.findings, percolated.by_rule)
    assert _finding_ids(samples, "retro-hunt") == written and _finding_ids(samples, "percolator") == set()

    windows = naming.events_pattern("windows")
    one = samples.search(index=windows, body={"size": 1, "sort": ["_doc"]})["hits"]["hits"][0]
    only = nrt.detect(samples, plan, *EVER, only={"ids": {"values": [one["_id"]]}})
    assert only.percolated == 1


def _windows_pair(shared_data: Path, query: dict[str, Any]) -> tuple[Rule, CompiledRule]:
    rule, compiled = next(pair for pair in _rules(shared_data) if percolate.source_of(pair[1]) == "windows")
    return rule, dataclasses.replace(compiled, query=query)


def _windows_event(client: OpenSearch, doc_id: str, event_data: dict[str, str], **fields: str) -> None:
    index = naming.events_index("windows", datetime(2026, 11, 30, tzinfo=UTC))
    doc = {"@timestamp": "2026-11-30T12:00:00Z", "winlog": {"event_data": event_data}, "siem": {"source": "windows"}}
    doc |= fields
    client.index(index=index, id=doc_id, body=doc, refresh=True)


def test_a_rule_stored_before_its_field_was_mapped_is_stored_again_once_it_is(
    clean_siem: OpenSearch, shared_data: Path
) -> None:
    """The percolator reads a query's fields when it stores it: a query stored while its field was unmapped
    never matches once the events have mapped the field (tried on the node), unless it is stored again."""
    bootstrap(clean_siem, RETENTION)
    pair = _windows_pair(shared_data, {"term": {"nrt_probe": "Value"}})  # a field outside winlog.event_data
    _windows_event(clean_siem, "other", {"TargetUserName": "x"})
    first = percolate.register(clean_siem, [pair])
    assert first.changed == 1
    _windows_event(clean_siem, "probe", {}, nrt_probe="Value")  # maps the field dynamically
    again = percolate.register(clean_siem, [pair])
    assert (again.changed, again.unchanged) == (1, [])
    found = percolate.detect_range(clean_siem, again, *EVER)
    assert found.events == 2 and dict(found.matched) == {pair[0].id: 1}
    assert percolate.register(clean_siem, [pair]).unchanged == ["windows"]


def test_a_rule_the_node_refuses_to_store_is_reported_and_the_hunt_runs_it(
    clean_siem: OpenSearch, shared_data: Path
) -> None:
    bootstrap(clean_siem, RETENTION)
    _windows_event(clean_siem, "one", {"TargetUserName": "x"})
    good = _windows_pair(shared_data, {"term": {"winlog.event_data.TargetUserName": "x"}})
    bad_rule = dataclasses.replace(good[0], id="00000000-0000-4000-8000-00000000bad1")
    bad = (bad_rule, dataclasses.replace(good[1], rule_id=bad_rule.id, query={"query_string": {"query": "a:("}}))
    registered = percolate.register(clean_siem, [good, bad])
    assert [(rule.id, bool(reason)) for rule, _, reason in registered.refused] == [(bad_rule.id, True)]
    assert [rule.id for rule, _ in registered.by_source["windows"]] == [good[0].id]
    cached = percolate.register(clean_siem, [good, bad])
    assert cached.unchanged == ["windows"] and [r.id for r, _, _ in cached.refused] == [bad_rule.id]
    plan = nrt.prepare(clean_siem, [good, bad])
    assert plan.runner == "percolator" and [rule.id for rule, _ in plan.hunted] == [bad_rule.id]


def test_a_rule_on_a_field_no_event_has_had_yet_is_stored_and_matches_once_one_has_it(
    clean_siem: OpenSearch, shared_data: Path
) -> None:
    """The node refuses a query on an unmapped field's `caseless` sub-field: the field is mapped ahead, as the
    events index's dynamic template will map it, so the rule percolates (and matches what the hunt matches)."""
    bootstrap(clean_siem, RETENTION)
    _windows_event(clean_siem, "other", {"TargetUserName": "x"})
    query = {"query_string": {"query": "winlog.event_data.NrtLater.caseless:*value*", "analyze_wildcard": True}}
    pair = _windows_pair(shared_data, {"bool": {"must": [query]}})
    first = percolate.register(clean_siem, [pair])
    assert (first.changed, first.refused) == (1, [])
    assert dict(percolate.detect_range(clean_siem, first, *EVER).matched) == {}
    _windows_event(clean_siem, "later", {"NrtLater": "Some VALUE here"})
    again = percolate.register(clean_siem, [pair])
    assert again.unchanged == ["windows"]  # the field is mapped as it was mapped ahead: nothing to store again
    assert dict(percolate.detect_range(clean_siem, again, *EVER).matched) == {pair[0].id: 1}
    assert count_matches(clean_siem, [pair[1]], *EVER) == [1]
