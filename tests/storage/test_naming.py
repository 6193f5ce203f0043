"""The index namespace: names in the default namespace are what users always had; in another namespace
every name the suite applies (templates, patterns, aliases, policies, roles, audit, dashboards) moves with it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.security.artifacts import load_security_file
from dagster_project.storage import naming
from dagster_project.storage.artifacts import load_artifacts
from tests.conftest import TEST_PREFIX
from tests.namespace import users_namespace


@pytest.mark.usefixtures("default_namespace")
def test_the_default_namespace_spells_the_names_users_have() -> None:
    assert naming.prefix() == "siem" and naming.is_default()
    assert naming.events_index("linux-auth", datetime(2024, 3, 1, tzinfo=UTC)) == "siem-events-linux-auth-2024.03.01"
    assert (naming.events_pattern(), naming.events_pattern("web-access")) == (
        "siem-events-*",
        "siem-events-web-access-*",
    )
    assert (naming.events_alias(), naming.quarantine_index(date(2024, 3, 1))) == (
        "siem-events",
        "siem-quarantine-2024.03.01",
    )
    assert [naming.findings_index(), naming.alerts_index(), naming.dq_index(), naming.audit_index()] == [
        "siem-findings",
        "siem-alerts",
        "siem-dq",
        "siem-audit",
    ]
    assert (naming.integrity_index(), naming.digests_index(), naming.reports_index()) == (
        "siem-integrity",
        "siem-integrity-digests",
        "siem-reports",
    )
    assert naming.events_retention_policy() == "siem-events-retention" and naming.all_pattern() == "siem-*"
    assert naming.in_namespace("siem-events-*,siem-dq") == "siem-events-*,siem-dq"


def test_the_tests_namespace_moves_every_name() -> None:
    assert naming.prefix() == TEST_PREFIX and not naming.is_default()
    assert naming.events_index("jsonl", datetime(2024, 3, 1, tzinfo=UTC)) == "siemtest-events-jsonl-2024.03.01"
    assert naming.in_namespace("siem-events-*,siem-dq") == "siemtest-events-*,siemtest-dq"
    assert naming.in_namespace("security-auditlog-*") == "security-auditlog-*"
    assert naming.index_day("siemtest-events-web-access-2024.03.01") == ("siemtest-events-web-access", date(2024, 3, 1))
    assert naming.index_day("siem-events-web-access-2024.03.01") is None, "a user's index is no test index"
    assert naming.source_of_family("siemtest-events-web-access") == "web-access"


@pytest.mark.parametrize("bad", ["Siem", "siem-test", "1siem", "siem*", "a" * 33])
def test_a_prefix_that_could_overlap_another_namespace_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(naming.PREFIX_ENV, bad)
    with pytest.raises(ValidationError):
        naming.prefix()


def _applied_names() -> list[str]:
    """Every name the suite would apply to a cluster or Dashboards, from the artefacts as loaded now."""
    names: list[str] = []
    for kind in ("component_template", "index_template", "ism_policy"):
        for artifact in load_artifacts(kind):
            body: dict[str, Any] = artifact.body
            names.append(artifact.name)
            names += body.get("index_patterns", []) + body.get("composed_of", [])
            names += list(body.get("template", {}).get("aliases", {}))
            for template in body.get("policy", {}).get("ism_template") or []:
                names += template["index_patterns"]
    for role in load_security_file("roles.yml").values():
        for permission in role.get("index_permissions", []) if isinstance(role, dict) else []:
            names += permission["index_patterns"]
    compliance = load_security_file("audit.yml")["config"]["compliance"]
    names += list(compliance["read_watched_fields"]) + compliance["write_watched_indices"]
    for obj in load_saved_objects():
        names += [obj.id, *(r.id for r in obj.references)]
        if obj.type == "index-pattern":
            names += obj.title.split(",")
    return names


def test_every_applied_name_lives_in_the_current_namespace() -> None:
    names = _applied_names()
    assert len(names) > 100
    assert [n for n in names if not n.startswith(f"{TEST_PREFIX}-")] == []
    with users_namespace():
        users = _applied_names()
    assert [n for n in users if not n.startswith("siem-")] == []
    assert [naming.in_namespace(n) for n in users] == names
