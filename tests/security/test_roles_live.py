"""Roles on the secure node: apply_roles is idempotent; each user can do its job and nothing more (403)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthorizationException, TransportError

from dagster_project.client import make_client
from dagster_project.node.lifecycle import UpResult
from dagster_project.security.roles import API, apply_roles
from dagster_project.security.users import load_users
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import Change, bootstrap

pytestmark = pytest.mark.live

AUDIT_DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
def data(admin: OpenSearch) -> Iterator[dict[str, str]]:
    """Templates applied and one document in each suite index the roles are about; removed afterwards."""
    bootstrap(admin, RetentionSettings())
    run = uuid.uuid4().hex[:10]
    names = {
        "events": naming.name(f"events-sectest{run}-2024.01.01"),
        "findings": naming.name(f"findings-sectest{run}"),
        "alerts": naming.name(f"alerts-sectest{run}"),
        "reports": naming.name(f"reports-sectest{run}"),
        "dq": naming.name(f"dq-sectest{run}"),
    }
    admin.index(index=names["events"], id="e1", body={"message": "seed", "@timestamp": "2024-01-01T00:00:00Z"})
    admin.index(index=names["findings"], id="f1", body={"rule": {"id": "r1"}})
    admin.index(index=names["alerts"], id="a1", body={"alert": {"id": "a1", "state": "open"}})
    admin.index(index=names["reports"], id="r1", body={"framework": "pci"})
    admin.index(index=names["dq"], id="d1", body={"check": "c1", "passed": True})
    admin.indices.refresh(index=",".join(names.values()))
    yield names
    admin.indices.delete(index=naming.name(f"*-sectest{run}*"), ignore_unavailable=True, allow_no_indices=True)


def forbidden(call: Callable[[], Any]) -> None:
    """The call is refused with 403."""
    with pytest.raises(AuthorizationException):
        call()


def item_statuses(response: dict[str, Any]) -> list[int]:
    """The status of every item of a bulk response."""
    return [next(iter(item.values()))["status"] for item in response["items"]]


def test_apply_roles_creates_updates_and_then_changes_nothing(admin: OpenSearch) -> None:
    admin.transport.perform_request("DELETE", f"{API}/roles/siem_officer_events")
    admin.transport.perform_request("DELETE", f"{API}/rolesmapping/siem_engineer")
    admin.transport.perform_request(
        "PATCH",
        f"{API}/roles/siem_officer",
        body=[{"op": "replace", "path": "/description", "value": "changed by hand"}],
    )
    first = {(c.kind, c.name): c.action for c in apply_roles(admin)}
    assert first[("role", "siem_officer_events")] == "created"
    assert first[("role_mapping", "siem_engineer")] == "created"
    assert first[("role", "siem_officer")] == "updated"
    second = apply_roles(admin)
    assert {c.action for c in second} <= {"unchanged", "skipped"}
    assert [c for c in second if c.action == "skipped"] == [
        Change("internal_user", "admin", "skipped", "reserved: set by `siem opensearch up --secure`")
    ]
    assert {c.kind for c in second} == {"action_group", "role", "role_mapping", "internal_user"}


def test_apply_roles_skips_a_cluster_without_the_plugin(plain_client: OpenSearch) -> None:
    assert apply_roles(plain_client) == [
        Change("security", "opensearch-security", "skipped", "security plugin not installed")
    ]


def test_apply_roles_skips_a_user_without_security_api_access(user_clients: dict[str, OpenSearch]) -> None:
    (change,) = apply_roles(user_clients["engineer"])
    assert (change.action, change.detail) == (
        "skipped",
        "this user may not use the security API; run as admin",
    )


def test_a_changed_password_is_applied_and_the_old_one_stops_working(
    admin: OpenSearch, secure_node: UpResult, node_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = next(u for u in load_users() if u.name == "officer")
    new = "Rotat3d-Offic3r!x9"
    monkeypatch.setenv(spec.password_env, new)
    changes = {c.name: c.action for c in apply_roles(admin) if c.kind == "internal_user"}
    assert changes["officer"] == "updated" and changes["analyst"] == "unchanged"

    def login(password: str) -> OpenSearch:
        return make_client(secure_node.url, user="officer", password=password, ca_certs=secure_node.ca_certs)

    assert login(new).transport.perform_request("GET", "/_plugins/_security/authinfo")["user_name"] == "officer"
    monkeypatch.setenv(spec.password_env, node_env["officer"])
    assert {c.name: c.action for c in apply_roles(admin)}["officer"] == "updated"
    assert login(node_env["officer"]).transport.perform_request("GET", "/_plugins/_security/authinfo")


def test_ingest_writes_events_and_nothing_else(user_clients: dict[str, OpenSearch], data: dict[str, str]) -> None:
    ingest = user_clients["ingest"]
    new_index = data["events"].replace("2024.01.01", "2024.01.02")
    done = ingest.bulk(body=[{"create": {"_index": new_index, "_id": "i1"}}, {"message": "from ingest"}])
    assert item_statuses(done) == [201]
    ingest.indices.refresh(index=new_index)
    deleted = ingest.bulk(body=[{"delete": {"_index": new_index, "_id": "i1"}}])
    assert item_statuses(deleted) == [403]
    elsewhere = ingest.bulk(body=[{"index": {"_index": data["findings"], "_id": "x"}}, {"rule": "forged"}])
    assert item_statuses(elsewhere) == [403]
    forbidden(lambda: ingest.search(index=data["findings"]))
    forbidden(lambda: ingest.search(index=data["events"]))
    forbidden(lambda: ingest.delete(index=new_index, id="i1"))
    forbidden(lambda: ingest.indices.delete(index=new_index))
    forbidden(
        lambda: ingest.indices.put_index_template(
            name=naming.name("sectest"), body={"index_patterns": [naming.name("sectest*")]}
        )
    )


def test_ingest_seals_integrity_records_with_the_real_pipeline(
    user_clients: dict[str, OpenSearch], data: dict[str, str], tmp_path: Any
) -> None:
    from dagster_project.ingest.pipeline import ingest as run_ingest

    ingest = user_clients["ingest"]
    path = tmp_path / "auth.log"
    path.write_text("Mar 27 13:06:56 host sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2\n")
    summary = run_ingest(ingest, "linux-auth", [path], retention=RetentionSettings(retention_days=20_000, hot_days=90))
    assert summary.reconciles and summary.indexed + summary.duplicates == 1
    forbidden(lambda: ingest.delete(index=naming.integrity_index(), id="linux-auth:1"))


def test_pipeline_writes_results_reads_events_and_deletes_nothing(
    user_clients: dict[str, OpenSearch], data: dict[str, str]
) -> None:
    pipeline = user_clients["pipeline"]
    assert pipeline.search(index=naming.events_pattern(), body={"query": {"ids": {"values": ["e1"]}}})["hits"]["hits"]
    # Its own indices (same patterns), so the other roles' exact counts are not disturbed.
    findings, dq = data["findings"] + "-pipeline", data["dq"] + "-pipeline"
    pipeline.index(index=findings, id="f2", body={"rule": {"id": "r2"}})
    pipeline.index(index=dq, id="d2", body={"check": "c2", "passed": False})
    pipeline.update(index=data["alerts"], id="a1", body={"doc": {"alert": {"finding_count": 2}}})
    forbidden(lambda: pipeline.delete(index=findings, id="f2"))
    forbidden(lambda: pipeline.index(index=data["events"], id="x", body={"message": "forged"}))
    forbidden(lambda: pipeline.indices.delete(index=data["findings"]))


def test_analyst_reads_and_acknowledges_but_changes_nothing_else(
    user_clients: dict[str, OpenSearch], data: dict[str, str]
) -> None:
    analyst = user_clients["analyst"]
    assert analyst.search(index=naming.events_pattern(), body={"query": {"ids": {"values": ["e1"]}}})["hits"]["hits"]
    assert analyst.get(index=data["findings"], id="f1")["found"]
    analyst.update(index=data["alerts"], id="a1", body={"doc": {"alert": {"state": "acknowledged"}}})
    assert analyst.get(index=data["alerts"], id="a1")["_source"]["alert"]["state"] == "acknowledged"
    forbidden(lambda: analyst.delete(index=data["alerts"], id="a1"))
    forbidden(lambda: analyst.index(index=data["events"], id="x", body={"message": "forged"}))
    forbidden(lambda: analyst.delete(index=data["events"], id="e1"))
    forbidden(lambda: analyst.indices.delete(index=data["events"]))
    forbidden(lambda: analyst.index(index=data["findings"], id="x", body={"rule": "forged"}))
    forbidden(lambda: analyst.search(index=data["reports"]))


def test_officer_reads_reports_quality_and_findings_but_no_events(
    user_clients: dict[str, OpenSearch], data: dict[str, str]
) -> None:
    officer = user_clients["officer"]
    for name in ("reports", "dq", "findings"):
        assert officer.search(index=data[name])["hits"]["total"]["value"] == 1, name
    forbidden(lambda: officer.search(index=naming.events_pattern()))
    forbidden(lambda: officer.get(index=data["events"], id="e1"))
    forbidden(lambda: officer.index(index=data["reports"], id="x", body={"framework": "forged"}))
    forbidden(lambda: officer.search(index=data["alerts"]))


def test_engineer_manages_templates_but_writes_no_documents(
    user_clients: dict[str, OpenSearch], data: dict[str, str]
) -> None:
    engineer = user_clients["engineer"]
    name = naming.name(f"sectest-{uuid.uuid4().hex[:8]}")
    engineer.cluster.put_component_template(name=name, body={"template": {"settings": {"number_of_replicas": 0}}})
    engineer.indices.put_index_template(
        name=name, body={"index_patterns": [f"{name}*"], "composed_of": [name], "priority": 1}
    )
    assert engineer.indices.get_index_template(name=name)["index_templates"]
    assert engineer.cluster.health()["status"] in ("green", "yellow")
    forbidden(lambda: engineer.index(index=data["events"], id="x", body={"message": "forged"}))
    forbidden(lambda: engineer.index(index=data["alerts"], id="x", body={"alert": {}}))
    forbidden(lambda: engineer.search(index=data["events"]))
    forbidden(lambda: engineer.indices.delete(index=data["events"]))
    engineer.indices.delete_index_template(name=name)
    engineer.cluster.delete_component_template(name=name)


def test_no_role_can_touch_the_security_audit_log(user_clients: dict[str, OpenSearch]) -> None:
    for name in ("ingest", "analyst", "officer", "engineer"):
        client = user_clients[name]
        forbidden(lambda c=client: c.search(index="security-auditlog-*"))
        forbidden(lambda c=client: c.indices.delete(index="security-auditlog-*"))


def test_an_analyst_read_is_in_the_security_audit_log(
    admin: OpenSearch, user_clients: dict[str, OpenSearch], data: dict[str, str]
) -> None:
    started = time.time()
    analyst = user_clients["analyst"]
    assert analyst.get(index=data["events"], id="e1")["found"]
    query = {
        "bool": {
            "filter": [
                {"term": {"audit_category.keyword": "COMPLIANCE_DOC_READ"}},
                {"term": {"audit_request_effective_user.keyword": "analyst"}},
                {"term": {"audit_trace_indices.keyword": data["events"]}},
                {"range": {"@timestamp": {"gte": int(started * 1000) - 5000, "format": "epoch_millis"}}},
            ]
        }
    }
    deadline = time.monotonic() + AUDIT_DEADLINE_SECONDS
    hits: list[dict[str, Any]] = []
    while not hits and time.monotonic() < deadline:
        try:
            admin.indices.refresh(index="security-auditlog-*")
            hits = admin.search(index="security-auditlog-*", body={"query": query})["hits"]["hits"]
        except TransportError as exc:  # the audit index may not exist yet on a fresh node
            if exc.status_code != 404:
                raise
        if not hits:
            time.sleep(0.5)  # polling with a deadline: the audit sink writes asynchronously
    assert hits, f"no COMPLIANCE_DOC_READ by analyst on {data['events']} within {AUDIT_DEADLINE_SECONDS}s"
    record = hits[0]["_source"]
    assert record["audit_request_effective_user"] == "analyst"
    assert record["audit_trace_doc_id"] == "e1"
