"""The guard on real events: a split rule matches exactly the events its whole query matches, and Sysmon hash
rules compiled to exact terms match exactly what their wildcards over `Hashes` match.

Events: the shared EVTX attack samples and the SigmaHQ regression cases whose rules match `Hashes`, ingested
by the windows source. Rules: SigmaHQ's Windows rules, compiled by the suite.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import OpenSearch, RequestError, helpers

from dagster_project.detection import guard, hashes
from dagster_project.detection.compile import CompiledRule, compile_rule
from dagster_project.detection.execute import count_matches, matching_events
from dagster_project.detection.rules import Rule, scan_rules
from dagster_project.errors import DetectionError
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
HASH_CASES = (
    "proc_creation_win_hktl_edr_freeze",
    "proc_creation_win_pua_adfind_execution",
    "proc_creation_win_renamed_adfind",
)
MAX_QUERY_STRING = 200_000
VULNERABLE_DRIVERS = "7aaaf4b8-e47c-4295-92ee-6ed40a6f60c8"
"""SigmaHQ `driver_load_win_vuln_drivers`: the one hash-list rule whose exact terms exceed MAX_QUERY_STRING."""
"""The node's `search.query.max_query_string_length` (node/topology.py)."""
SPLIT_AT = 4
"""A limit low enough that many rules are split into several parts, some of which overlap."""


@pytest.fixture
def windows_events(clean_siem: OpenSearch, shared_data: Path) -> OpenSearch:
    """The EVTX attack samples and the hash rules' regression cases, ingested."""
    bootstrap(clean_siem, RETENTION)
    cases = shared_data / "windows" / "sigma_regression"
    paths = [
        shared_data / "windows" / "evtx_attack_samples",
        *(sorted((cases / case).glob("*.evtx"))[0] for case in HASH_CASES),
    ]
    ingest(clean_siem, "windows", paths, retention=RETENTION)
    clean_siem.indices.refresh(index=naming.events_pattern())
    return clean_siem


def _sigmahq_rules(shared_data: Path, *folders: str) -> list[Rule]:
    root = shared_data / "sigma" / "sigmahq" / "rules" / "windows"
    rules: list[Rule] = []
    for folder in folders:
        rules += [rule for rule in scan_rules(root / folder).rules if rule.correlation is None]
    return rules


def _compiled(rules: list[Rule]) -> list[CompiledRule]:
    """The rules the suite compiles (a few use features the backend lacks, e.g. field references)."""
    out: list[CompiledRule] = []
    for rule in rules:
        try:
            out.append(compile_rule(rule))
        except DetectionError:
            continue
    return out


def _ids(client: OpenSearch, compiled: CompiledRule) -> set[str]:
    query = {**compiled.body(*EVER), "_source": False}
    return {hit["_id"] for hit in helpers.scan(client, query=query, index=compiled.index, ignore_unavailable=True)}


def test_split_rules_match_exactly_what_their_whole_query_matches(
    windows_events: OpenSearch, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _compiled(_sigmahq_rules(shared_data, "process_creation", "image_load"))
    costly = [c for c in compiled if len(guard.split(c.query, SPLIT_AT)) > 1]
    whole = count_matches(windows_events, costly, *EVER)  # the default limit: these run whole
    matched = [c for c, n in zip(costly, whole, strict=True) if n]
    checked = matched + [c for c, n in zip(costly, whole, strict=True) if not n][:20]
    expected = {c.rule_id: _ids(windows_events, c) for c in checked}
    monkeypatch.setattr(guard, "MAX_CLAUSES", SPLIT_AT)
    counts = count_matches(windows_events, checked, *EVER)
    events = {
        c.rule_id: sorted(h["_id"] for h in matching_events(windows_events, c, *EVER, ["@timestamp"])) for c in checked
    }
    assert dict(zip(expected, counts, strict=True)) == {rule_id: len(ids) for rule_id, ids in expected.items()}
    assert events == {rule_id: sorted(ids) for rule_id, ids in expected.items()}
    overlapping = [c for c in matched if sum(_count(windows_events, c, part) > 0 for part in guard.split(c.query)) > 1]
    assert len(costly) > 100 and len(matched) >= 5 and overlapping, (len(costly), len(matched), len(overlapping))


def _guarded_ids(client: OpenSearch, compiled: CompiledRule) -> set[str]:
    """Through the guard: run whole, the wildcard form of the hash-list rules exhausts a 512 MB node's heap."""
    return {hit["_id"] for hit in matching_events(client, compiled, *EVER, ["@timestamp"])}


def _part_ids(client: OpenSearch, compiled: CompiledRule, query: dict[str, object]) -> set[str]:
    body = {"query": {"bool": {"filter": [query, {"range": {"@timestamp": {"gte": EVER[0], "lt": EVER[1]}}}]}}}
    hits = helpers.scan(client, query={**body, "_source": False}, index=compiled.index, ignore_unavailable=True)
    return {hit["_id"] for hit in hits}


def _count(client: OpenSearch, compiled: CompiledRule, query: dict[str, object]) -> int:
    return int(client.count(index=compiled.index, body={"query": query}, ignore_unavailable=True)["count"])


def test_hash_rules_match_on_ecs_hash_terms_what_they_match_on_hashes(
    windows_events: OpenSearch, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = [rule for rule in _sigmahq_rules(shared_data, ".") if "Hash" in rule.sources[0].text]
    exact = _compiled(rules)
    monkeypatch.setattr(hashes.EcsHashesTransformation, "apply_detection_item", lambda self, item: None)
    as_written = _compiled(rules)
    changed = [i for i, (a, b) in enumerate(zip(exact, as_written, strict=True)) if a.query != b.query]
    assert len(changed) >= 20
    # driver_load_win_vuln_drivers (4,400 digests) exceeds search.query.max_query_string_length either way.
    # The node refuses it whole; the guard runs its exact form in parts cut by length. Its wildcard form
    # (4,432 wildcards, about a minute of automata) is left out of the comparison below.
    (too_long,) = [i for i in changed if len(json.dumps(exact[i].query)) > MAX_QUERY_STRING]
    assert exact[too_long].rule_id == VULNERABLE_DRIVERS
    with pytest.raises(RequestError) as refused:
        _count(windows_events, exact[too_long], exact[too_long].query)
    assert "max_query_string_length" in json.dumps(refused.value.info), json.dumps(refused.value.info)[-600:]
    parts = guard.split(exact[too_long].query)
    assert len(parts) > 1 and all(len(json.dumps(part)) < MAX_QUERY_STRING for part in parts)
    assert _guarded_ids(windows_events, exact[too_long]) == set().union(
        *(_part_ids(windows_events, exact[too_long], part) for part in parts)
    )
    changed.remove(too_long)
    assert all(
        json.dumps(exact[i].query).count("Hash") < json.dumps(as_written[i].query).count("Hash") for i in changed
    )
    matched = {
        exact[i].rule_id: (_ids(windows_events, exact[i]), _guarded_ids(windows_events, as_written[i])) for i in changed
    }
    assert {k: a for k, (a, _) in matched.items()} == {k: b for k, (_, b) in matched.items()}
    assert sum(bool(a) for a, _ in matched.values()) >= 3
