"""Suites come from the templates alone: each source declares usable required fields; broken ones fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dagster_project.errors import ArtifactError
from dagster_project.paths import repo_dir
from dagster_project.quality.expectations import ROLES, load_expectations
from dagster_project.sources.registry import source_names
from dagster_project.storage.artifacts import load_artifacts, merged_mappings

pytestmark = pytest.mark.usefixtures("default_namespace")


@pytest.mark.parametrize("source", source_names())
def test_every_source_declares_required_fields_that_its_mappings_know(source: str) -> None:
    expectations = load_expectations(source)
    assert expectations.required, source
    offenders = [
        (r.role, f)
        for r in expectations.required
        for f in (*r.fields, *r.condition_fields())
        if r.role not in ROLES or not _mapped(source, f)
    ]
    assert offenders == []
    assert "source.ip" in expectations.ip_fields


def _mapped(source: str, dotted: str) -> bool:
    (template,) = [t for t in load_artifacts("index_template") if t.name == f"siem-events-{source}"]
    node = merged_mappings(template.body["composed_of"])
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return False
    return True


def test_the_declaration_is_kept_as_written() -> None:
    declared = json.loads((repo_dir("index_templates") / "component_templates" / "siem-jsonl.json").read_text())
    assert load_expectations("jsonl").required_fields() == declared["_meta"]["required_fields"]


@pytest.fixture
def artefacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of index_templates/, used instead of the real one."""
    shutil.copytree(repo_dir("index_templates"), tmp_path / "index_templates")
    monkeypatch.setenv("SIEM_ARTIFACTS_DIR", str(tmp_path))
    return tmp_path / "index_templates" / "component_templates"


def _rewrite(folder: Path, name: str, meta: dict[str, object]) -> None:
    path = folder / f"{name}.json"
    body = json.loads(path.read_text())
    body["_meta"] = {"version": 1, **meta}
    path.write_text(json.dumps(body))


def test_a_missing_component_template_is_an_artifact_error(artefacts: Path) -> None:
    (artefacts / "siem-jsonl.json").unlink()
    with pytest.raises(ArtifactError, match="no component template 'siem-jsonl'"):
        load_expectations("jsonl")


def test_missing_required_fields_is_an_artifact_error_naming_the_file(artefacts: Path) -> None:
    _rewrite(artefacts, "siem-jsonl", {})
    with pytest.raises(ArtifactError, match="no _meta.required_fields") as error:
        load_expectations("jsonl")
    assert error.value.where and error.value.where.endswith("siem-jsonl.json")


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"whom": "user.name"}, "unknown role 'whom'"),
        ({"who": ""}, "expected a field name"),
        ({"who": []}, "expected a field name"),
        ({"who": 3}, "expected a field name"),
        ({"who": "user name"}, "expected a field name"),
    ],
)
def test_malformed_declarations_are_refused(artefacts: Path, declared: dict[str, object], message: str) -> None:
    _rewrite(artefacts, "siem-jsonl", {"required_fields": declared})
    with pytest.raises(ArtifactError, match=message):
        load_expectations("jsonl")


def test_alternatives_are_accepted(artefacts: Path) -> None:
    _rewrite(artefacts, "siem-jsonl", {"required_fields": {"origin": ["source.ip", "source.address"]}})
    (requirement,) = load_expectations("jsonl").required
    assert (requirement.role, requirement.fields) == ("origin", ("source.ip", "source.address"))


def test_a_role_may_apply_to_some_kinds_of_event_only(artefacts: Path) -> None:
    declared = {
        "who": {
            "fields": ["user.name"],
            "where": [{"event.category": ["session", "process"]}, {"event.category": "iam", "event.type": "user"}],
        }
    }
    _rewrite(artefacts, "siem-jsonl", {"required_fields": declared})
    expectations = load_expectations("jsonl")
    (requirement,) = expectations.required
    assert requirement.where == (
        (("event.category", ("session", "process")),),
        (("event.category", ("iam",)), ("event.type", ("user",))),
    )
    assert requirement.applies_query() == {
        "bool": {
            "should": [
                {"bool": {"filter": [{"terms": {"event.category": ["session", "process"]}}]}},
                {"bool": {"filter": [{"terms": {"event.category": ["iam"]}}, {"terms": {"event.type": ["user"]}}]}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert expectations.required_fields() == declared


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"who": {"where": [{"event.category": "iam"}]}}, "needs `fields`"),
        ({"who": {"fields": "user.name", "unless": []}}, "needs `fields`"),
        ({"who": {"fields": "user.name", "where": []}}, "expected a list of"),
        ({"who": {"fields": "user.name", "where": [{}]}}, "expected a list of"),
        ({"who": {"fields": "user.name", "where": [{"event.category": 3}]}}, "values are strings"),
        ({"who": {"fields": "user.name", "where": {"event.category": "iam"}}}, "expected a list of"),
    ],
)
def test_malformed_conditions_are_refused(artefacts: Path, declared: dict[str, object], message: str) -> None:
    _rewrite(artefacts, "siem-jsonl", {"required_fields": declared})
    with pytest.raises(ArtifactError, match=message):
        load_expectations("jsonl")


def test_ip_fields_follow_the_mappings(artefacts: Path) -> None:
    path = artefacts / "siem-jsonl.json"
    body = json.loads(path.read_text())
    body["template"]["mappings"]["properties"]["threat"] = {
        "properties": {"indicator": {"properties": {"ip": {"type": "ip"}}}}
    }
    path.write_text(json.dumps(body))
    assert "threat.indicator.ip" in load_expectations("jsonl").ip_fields
