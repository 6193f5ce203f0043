"""Bootstrap is idempotent, new indices get the templates, and retention counts from event time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.cluster import installed_plugins
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import load_artifacts
from dagster_project.storage.bootstrap import ISM_PLUGIN, bootstrap
from dagster_project.storage.retention import enforce_retention

pytestmark = pytest.mark.live

DEFAULTS = RetentionSettings(retention_days=365, hot_days=90)


def test_bootstrap_twice_reports_everything_unchanged(clean_siem: OpenSearch) -> None:
    first = bootstrap(clean_siem, DEFAULTS)
    applied = [c for c in first if c.action != "skipped"]
    assert applied and all(c.action == "created" for c in applied)
    second = bootstrap(clean_siem, DEFAULTS)
    assert [c.action for c in second if c.action != "skipped"] == ["unchanged"] * len(applied)
    expected = len(load_artifacts("component_template")) + len(load_artifacts("index_template"))
    assert len([c for c in second if c.kind in ("component_template", "index_template")]) == expected


def test_a_changed_artefact_is_updated(clean_siem: OpenSearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap(clean_siem, DEFAULTS)
    root = tmp_path / "index_templates"
    from shutil import copytree

    from dagster_project.storage import artifacts

    copytree(artifacts.templates_dir(), root)
    target = root / "index_templates" / "siem-quarantine.json"
    body = json.loads(target.read_text())
    body["priority"] = 201
    target.write_text(json.dumps(body))
    monkeypatch.setattr(artifacts, "templates_dir", lambda: root)
    changes = bootstrap(clean_siem, DEFAULTS)
    updated = [(c.kind, c.name) for c in changes if c.action == "updated"]
    assert updated == [("index_template", naming.name("quarantine"))]


def test_new_indices_get_the_templates(clean_siem: OpenSearch) -> None:
    bootstrap(clean_siem, DEFAULTS)
    index = naming.events_index("linux-auth", datetime(2024, 3, 1, tzinfo=UTC))
    clean_siem.indices.create(index=index)
    mapping = clean_siem.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["source"]["properties"]["ip"]["type"] == "ip"
    assert naming.events_alias() in clean_siem.indices.get_alias(index=index)[index]["aliases"]


def test_ism_policies_attach_to_new_indices(clean_siem: OpenSearch) -> None:
    if ISM_PLUGIN not in installed_plugins(clean_siem):
        changes = bootstrap(clean_siem, DEFAULTS)
        skipped = [c for c in changes if c.kind == "ism_policy"]
        assert skipped and all(c.action == "skipped" and "siem retention" in c.detail for c in skipped)
        return
    bootstrap(clean_siem, DEFAULTS)
    index = naming.events_index("linux-auth", datetime.now(UTC))
    clean_siem.indices.create(index=index)
    explain = clean_siem.transport.perform_request("GET", f"/_plugins/_ism/explain/{index}")
    assert explain[index]["index.plugins.index_state_management.policy_id"] == naming.events_retention_policy()


def test_retention_counts_from_event_time_even_for_late_backfill(clean_siem: OpenSearch, tmp_path: Path) -> None:
    bootstrap(clean_siem, DEFAULTS)
    now = datetime.now(UTC)
    ages = {"recent": 10, "warm": 120, "expired": 364}
    path = tmp_path / "backfill.jsonl"
    path.write_text(
        "".join(
            json.dumps({"@timestamp": (now - timedelta(days=age)).isoformat(), "message": name}) + "\n"
            for name, age in ages.items()
        )
    )
    # All three indices are created *now* (a late backfill): ISM would count their age as zero days.
    summary = ingest(clean_siem, "jsonl", [path], retention=DEFAULTS, refresh=True)
    assert summary.indexed == 3
    later = (now + timedelta(days=2)).date()
    actions = {a.index: a.action for a in enforce_retention(clean_siem, DEFAULTS, today=later)}
    by_age = {name: naming.events_index("jsonl", now - timedelta(days=age)) for name, age in ages.items()}
    assert actions[by_age["recent"]] == "kept"
    assert actions[by_age["warm"]] == "made_read_only"
    assert actions[by_age["expired"]] == "deleted"
    assert not clean_siem.indices.exists(index=by_age["expired"])
    settings = clean_siem.indices.get_settings(index=by_age["warm"])[by_age["warm"]]["settings"]["index"]
    assert settings["blocks"]["write"] == "true"
    again = {a.index: a.action for a in enforce_retention(clean_siem, DEFAULTS, today=later)}
    assert again[by_age["warm"]] == "kept"


def test_administrative_actions_are_recorded_in_siem_audit(clean_siem: OpenSearch, tmp_path: Path) -> None:
    bootstrap(clean_siem, DEFAULTS)
    bootstrap(clean_siem, DEFAULTS)  # unchanged: records nothing
    clean_siem.indices.refresh(index=naming.audit_index())
    applied = clean_siem.search(index=naming.audit_index(), body={"query": {"term": {"action": "bootstrap.apply"}}})[
        "hits"
    ]
    assert applied["total"]["value"] == 1
    details = applied["hits"][0]["_source"]["details"]["changes"]
    assert {"kind": "index_template", "name": naming.name("quarantine"), "action": "created", "detail": "v1"} in details
    now = datetime.now(UTC)
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"@timestamp": (now - timedelta(days=364)).isoformat(), "message": "old"}) + "\n")
    ingest(clean_siem, "jsonl", [path], retention=DEFAULTS, refresh=True)
    deleted = [
        a
        for a in enforce_retention(clean_siem, DEFAULTS, today=(now + timedelta(days=2)).date())
        if a.action == "deleted"
    ]
    assert len(deleted) == 1
    clean_siem.indices.refresh(index=naming.audit_index())
    removal = clean_siem.search(index=naming.audit_index(), body={"query": {"term": {"action": "retention.delete"}}})[
        "hits"
    ]["hits"]
    assert [h["_source"]["target"] for h in removal] == [deleted[0].index]


def test_retention_asset_enforces_the_schedule(clean_siem: OpenSearch, opensearch_url: str, tmp_path: Path) -> None:
    import dagster as dg

    from dagster_project.assets.storage import daily_retention_schedule, retention_enforcement
    from tests.resources import suite_resources

    bootstrap(clean_siem, DEFAULTS)
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"@timestamp": (datetime.now(UTC) - timedelta(days=200)).isoformat()}) + "\n")
    ingest(clean_siem, "jsonl", [path], retention=DEFAULTS, refresh=True)
    result = dg.materialize([retention_enforcement], resources=suite_resources(opensearch_url))
    (materialization,) = result.asset_materializations_for_node("retention_enforcement")
    assert len(materialization.metadata["made_read_only"].value) == 1
    assert materialization.metadata["meets_pci_10_5_1"].value is True
    assert daily_retention_schedule.cron_schedule == "15 0 * * *"


def test_an_existing_single_index_gets_the_new_fields_of_its_template(clean_siem: OpenSearch) -> None:
    from dagster_project.integrity.chain import seal
    from dagster_project.integrity.hashing import GENESIS
    from dagster_project.storage.artifacts import component_template

    mappings = component_template(naming.integrity_index()).body["template"]["mappings"]
    older = {**mappings, "properties": {k: v for k, v in mappings["properties"].items() if k != "indices"}}
    clean_siem.indices.create(index=naming.integrity_index(), body={"mappings": older})
    changes = bootstrap(clean_siem, DEFAULTS)
    assert [(c.kind, c.name, c.action) for c in changes if c.kind == "index_mapping"] == [
        ("index_mapping", naming.integrity_index(), "updated")
    ]
    stored = clean_siem.indices.get_mapping(index=naming.integrity_index())[naming.integrity_index()]
    assert stored["mappings"]["properties"]["indices"] == {"type": "keyword"}
    record = seal("jsonl", 1, GENESIS, [("i", "a", "0" * 64)], "run", datetime.now(UTC))
    clean_siem.index(index=naming.integrity_index(), id="jsonl:1", body=record)  # strict mapping accepts it
    assert [c for c in bootstrap(clean_siem, DEFAULTS) if c.kind == "index_mapping"] == []


def test_each_retention_run_is_recorded_and_a_dry_run_is_not(clean_siem: OpenSearch) -> None:
    from dagster_project.storage.retention import last_run

    bootstrap(clean_siem, DEFAULTS)
    before = datetime.now(UTC) - timedelta(minutes=1)
    enforce_retention(clean_siem, DEFAULTS, dry_run=True)
    assert last_run(clean_siem, datetime.now(UTC)) is None
    at = datetime(2024, 3, 1, 0, 15, tzinfo=UTC)
    enforce_retention(clean_siem, DEFAULTS, now=at)
    enforce_retention(clean_siem, DEFAULTS)
    assert last_run(clean_siem, at + timedelta(hours=1)) == at
    newest = last_run(clean_siem, datetime.now(UTC) + timedelta(minutes=1))
    assert newest is not None and newest >= before
