"""The suite's own audit trail: deterministic ids, redaction, the siem-audit template, who may read it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthorizationException

from dagster_project.security.audit import audit_id, record, redact
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import load_artifacts
from dagster_project.storage.bootstrap import bootstrap

WHEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_audit_id_is_a_hash_of_action_target_and_key() -> None:
    assert audit_id("bootstrap.apply", "siem-dq", "abc") == audit_id("bootstrap.apply", "siem-dq", "abc")
    assert (
        len(
            {
                audit_id("a", "t", "k"),
                audit_id("a", "t", "k2"),
                audit_id("a", "t2", "k"),
                audit_id("b", "t", "k"),
            }
        )
        == 4
    )
    # No ambiguity from joining: ("a:b", "c") and ("a", "b:c") differ.
    assert audit_id("a:b", "c", "k") != audit_id("a", "b:c", "k")


def test_redact_hides_secret_looking_values_at_any_depth() -> None:
    details = {
        "recipients": ["officer@example.org"],
        "smtp": {"host": "mail", "Password": "x", "api_key": "y"},
        "channels": [{"webhook_token": "z", "name": "ops"}],
        "count": 3,
    }
    assert redact(details) == {
        "recipients": ["officer@example.org"],
        "smtp": {"host": "mail", "Password": "[redacted]", "api_key": "[redacted]"},
        "channels": [{"webhook_token": "[redacted]", "name": "ops"}],
        "count": 3,
    }
    assert details["smtp"]["Password"] == "x"


@pytest.mark.usefixtures("default_namespace")
def test_siem_audit_templates_follow_the_shape_of_the_others() -> None:
    (component,) = [a for a in load_artifacts("component_template") if a.name == "siem-audit"]
    (template,) = [a for a in load_artifacts("index_template") if a.name == "siem-audit"]
    assert template.body["index_patterns"] == ["siem-audit*"]
    assert template.body["composed_of"] == ["siem-audit"] and template.body["priority"] == 200
    assert component.version >= 1 and template.version >= 1
    properties = component.body["template"]["mappings"]["properties"]
    assert {"@timestamp", "action", "actor", "target", "details"} <= set(properties)


@pytest.mark.live
def test_record_writes_idempotent_and_distinct_actions(admin: OpenSearch) -> None:
    bootstrap(admin, RetentionSettings())
    target = f"sectest-{datetime.now(UTC).timestamp()}"
    for _ in range(2):
        record(
            admin,
            "bootstrap.apply",
            actor="admin",
            target=target,
            details={"version": 2, "password": "never-stored"},
            key="sha256:abc",
            timestamp=WHEN,
        )
    record(admin, "report.delivered", actor="pipeline", target=target, details={"to": ["a@example.org"]})
    record(admin, "report.delivered", actor="pipeline", target=target, details={"to": ["a@example.org"]})
    admin.indices.refresh(index=naming.audit_index())
    hits = admin.search(index=naming.audit_index(), body={"size": 10, "query": {"term": {"target": target}}})["hits"][
        "hits"
    ]
    by_action: dict[str, list[dict]] = {}
    for hit in hits:
        by_action.setdefault(hit["_source"]["action"], []).append(hit)
    (applied,) = by_action["bootstrap.apply"]
    assert applied["_id"] == audit_id("bootstrap.apply", target, "sha256:abc")
    assert applied["_source"]["details"] == {"version": 2, "password": "[redacted]"}
    assert applied["_source"]["@timestamp"].startswith("2025-03-01T12:00")
    assert len(by_action["report.delivered"]) == 2
    mapping = admin.indices.get_mapping(index=naming.audit_index())
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["details"]["type"] == "flat_object" and properties["actor"]["type"] == "keyword"


@pytest.mark.live
def test_officer_reads_the_audit_trail_and_no_one_else_may(
    admin: OpenSearch, user_clients: dict[str, OpenSearch]
) -> None:
    record(admin, "sectest.read-check", actor="admin", target="siem-audit", details={}, key="once")
    admin.indices.refresh(index=naming.audit_index())
    assert user_clients["officer"].get(
        index=naming.audit_index(), id=audit_id("sectest.read-check", "siem-audit", "once")
    )
    for name in ("ingest", "analyst", "engineer"):
        with pytest.raises(AuthorizationException):
            user_clients[name].search(index=naming.audit_index())
    for name in ("ingest", "analyst", "officer", "engineer"):
        with pytest.raises(AuthorizationException):
            record(user_clients[name], "forged", actor=name, target="siem-audit", details={})
