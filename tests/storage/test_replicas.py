"""Replicas: applied by bootstrap to the component templates (SIEM_REPLICAS, else 0 on one data node, 1 on more)."""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch

from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import default_replicas, load_artifacts, with_replicas
from dagster_project.storage.bootstrap import bootstrap

SHARDED = [a for a in load_artifacts("component_template") if "number_of_shards" in str(a.body)]


def test_the_default_keeps_one_node_green_and_gives_more_a_copy() -> None:
    assert [default_replicas(n) for n in (1, 2, 3, 5)] == [0, 1, 1, 1]


def test_replicas_go_where_the_shards_are_set_and_nowhere_else() -> None:
    assert SHARDED, "some component template sets number_of_shards"
    for artifact in load_artifacts("component_template"):
        applied = with_replicas(artifact, 2)
        index = applied.get("template", {}).get("settings", {}).get("index", {})
        assert ("number_of_replicas" in index) == (artifact in SHARDED), artifact.name
        if artifact in SHARDED:
            assert index["number_of_replicas"] == 2
        assert "number_of_replicas" not in str(artifact.body), "the file itself never changes"


def test_siem_replicas_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIEM_REPLICAS", raising=False)
    assert RetentionSettings().replicas is None
    monkeypatch.setenv("SIEM_REPLICAS", "2")
    assert RetentionSettings().replicas == 2


@pytest.mark.live
def test_one_node_gets_no_replicas_and_siem_replicas_overrides(clean_siem: OpenSearch) -> None:
    assert clean_siem.cluster.health()["number_of_data_nodes"] == 1, "this test runs on the single test node"
    bootstrap(clean_siem, RetentionSettings(replicas=None))
    for artifact in SHARDED:
        stored = clean_siem.cluster.get_component_template(name=artifact.name)["component_templates"][0]
        assert stored["component_template"]["template"]["settings"]["index"]["number_of_replicas"] == "0"
    clean_siem.indices.create(index=naming.findings_index())
    health = clean_siem.cluster.health(
        index=naming.findings_index(), wait_for_status="green", timeout="30s", request_timeout=40
    )
    assert health["status"] == "green"
    changes = bootstrap(clean_siem, RetentionSettings(replicas=1))
    updated = sorted(c.name for c in changes if c.action == "updated")
    assert updated == sorted(a.name for a in SHARDED), "only the templates that carry the count change"
    stored = clean_siem.cluster.get_component_template(name=naming.findings_index())["component_templates"][0]
    assert stored["component_template"]["template"]["settings"]["index"]["number_of_replicas"] == "1"
