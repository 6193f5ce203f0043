"""The saved objects in dashboards/: they parse, ids are unique, references resolve, and every field a panel
or search uses exists in the index templates with a type its aggregation can use."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from dagster_project.dashboards.fields import fields_for, templates_for
from dagster_project.dashboards.objects import SavedObject, load_saved_objects, parse_line
from dagster_project.dashboards.validate import field_values, query_fields, validate
from dagster_project.detection.rules import load_rules
from dagster_project.sources.registry import source_names
from tests.namespace import users_namespace

pytestmark = pytest.mark.usefixtures("default_namespace")

with users_namespace():
    OBJECTS = load_saved_objects()
DASHBOARDS = {
    "siem-dash-soc-overview",
    "siem-dash-authentication",
    "siem-dash-aws-cloudtrail-cis",
    "siem-dash-web",
    "siem-dash-compliance",
    "siem-dash-pipeline-health",
}
SEARCHES = {
    "siem-search-failed-authentications",
    "siem-search-administrative-actions",
    "siem-search-cloudtrail-configuration-changes",
    "siem-search-quarantined-records",
}


def test_saved_objects_are_consistent_with_each_other_the_templates_and_the_rules() -> None:
    offenders = validate(OBJECTS)
    assert offenders == []


def test_what_the_issue_asks_for_is_there() -> None:
    offenders: list[str] = []
    ids = {(o.type, o.id) for o in OBJECTS}
    titles = {o.title for o in OBJECTS if o.type == "index-pattern"}
    wanted = {"siem-events-*", "siem-findings", "siem-alerts", "siem-quarantine-*", "siem-dq", "siem-reports"}
    wanted |= {f"siem-events-{source}-*" for source in source_names()}
    offenders += [f"no index pattern {title!r}" for title in sorted(wanted - titles)]
    offenders += [f"no dashboard {d}" for d in sorted(DASHBOARDS) if ("dashboard", d) not in ids]
    offenders += [f"no saved search {s}" for s in sorted(SEARCHES) if ("search", s) not in ids]
    cis_tags = sorted({t for r in load_rules() for t in r.tags if t.startswith("cis_aws.v1.4.4.")})
    aws = next(o for o in OBJECTS if o.id == "siem-dash-aws-cloudtrail-cis")
    panels = {r.id for r in aws.references}
    for tag in cis_tags:
        showing = [
            o.id
            for o in OBJECTS
            if o.type == "visualization" and o.id in panels and field_values(_query(o), "rule.tags") == [tag]
        ]
        if len(showing) != 1:
            offenders.append(f"CIS control {tag}: {len(showing)} panels on the AWS dashboard count its findings")
    assert len(cis_tags) == 15
    soc = next(o for o in OBJECTS if o.id == "siem-dash-soc-overview")
    soc_panels = [o for o in OBJECTS if o.id in {r.id for r in soc.references}]
    if not any('"field":"rule.pack"' in o.attributes.get("visState", "").replace(" ", "") for o in soc_panels):
        offenders.append("the SOC overview has no panel of findings by rule pack (issue 13: where a rule came from)")
    assert offenders == []


def test_ids_are_stable_and_files_hold_no_server_state() -> None:
    offenders = []
    for obj in OBJECTS:
        if not re.fullmatch(r"siem-[a-z0-9-]+", obj.id):
            offenders.append(f"{obj.where}: id {obj.id!r} is not a readable siem-* id")
        if not obj.path.stem or obj.path.suffix != ".ndjson":
            offenders.append(f"{obj.where}: not an ndjson file")
        if {"updated_at", "version", "namespaces"} & set(obj.body):
            offenders.append(f"{obj.where}: server-managed fields committed")
    assert offenders == []


def _query(obj: SavedObject) -> str:
    query = obj.search_source.get("query", {})
    return str(query.get("query", "")) if isinstance(query, dict) else ""


def _mutated(object_id: str, change: Callable[[dict[str, Any]], None]) -> list[SavedObject]:
    """All objects, with one of them changed as `change` says (on a copy of its parsed line)."""
    result = []
    for obj in OBJECTS:
        if obj.id == object_id:
            body = copy.deepcopy(obj.body)
            change(body)
            obj = parse_line(json.dumps(body), obj.path, obj.line)
        result.append(obj)
    return result


def _vis_state(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        state = json.loads(body["attributes"]["visState"])
        change(state)
        body["attributes"]["visState"] = json.dumps(state)

    return apply


def _source(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        meta = body["attributes"]["kibanaSavedObjectMeta"]
        source = json.loads(meta["searchSourceJSON"])
        change(source)
        meta["searchSourceJSON"] = json.dumps(source)

    return apply


def _query_text(text: str) -> Callable[[dict[str, Any]], None]:
    return _source(lambda source: source["query"].update(query=text))


def _field(agg_index: int, field: str) -> Callable[[dict[str, Any]], None]:
    return _vis_state(lambda s: s["aggs"][agg_index]["params"].update(field=field))


VIS = "siem-vis-web-top-error-paths"
"""aggs: 1 count, 2 terms url.path, 3 terms http.response.status_code, 4 cardinality source.ip."""


@pytest.mark.parametrize(
    ("object_id", "change", "expected"),
    [
        (VIS, _field(1, "message"), "field 'message' (text) is not aggregatable"),
        (
            "siem-vis-auth-brute-force-suspects",
            _field(3, "rule.title"),
            "'rule.title' is string (keyword), needs",
        ),
        (VIS, _field(1, "url.original.text"), "field 'url.original.text' (text) is not aggregatable"),
        (VIS, _field(2, "no.such.field"), "field 'no.such.field' is not in the index templates"),
        (VIS, _field(3, "event.original"), "field 'event.original' (keyword) is not aggregatable"),
        ("siem-vis-soc-events-over-time", _field(1, "siem.source"), "date_histogram aggregation 2"),
        (VIS, _query_text("http.status:404"), "field 'http.status' is not in the index templates"),
        (VIS, _query_text("event.original:foo"), "field 'event.original' is not indexed"),
        (VIS, _query_text("_exists_:nothing.here"), "field 'nothing.here' is not in the index templates"),
        ("siem-vis-cis-aws-4-1", _query_text('rule.tags:"cis_aws.v1.4.4.99"'), "names no rule tags"),
        ("siem-vis-auth-brute-force-suspects", _query_text("rule.tags:attack.t9999*"), "names no rule tags"),
        (VIS, _vis_state(lambda s: s["aggs"][1]["params"].update(otherBucket=True)), "other/missing buckets"),
        (VIS, _vis_state(lambda s: s["aggs"][1]["params"].update(orderBy="9")), "ordered by '9'"),
        (
            VIS,
            _vis_state(lambda s: s["aggs"].append({"id": "9", "type": "percentiles", "params": {}})),
            "percentiles",
        ),
        (VIS, _vis_state(lambda s: s.update(title="other")), "visState title 'other'"),
        (VIS, lambda b: b["attributes"].update(visState="{not json"), "visState is not valid JSON"),
        (
            VIS,
            lambda b: b.update(updated_at="2024-01-01T00:00:00Z"),
            "server-managed or unknown keys ['updated_at']",
        ),
        (VIS, lambda b: b["references"][0].update(id="missing"), "index-pattern 'missing' not found"),
        (VIS, lambda b: b.update(id="siem-vis-web-suspicious-user-agents"), "is used 2 times"),
        (VIS, _source(lambda src: src["query"].update(language="kuery")), "write queries in lucene"),
        (VIS, _source(lambda src: src.update(filter=[{"meta": {}, "query": {}}])), "pinned filters"),
        ("siem-events", lambda b: b["attributes"].update(title="logs-*"), "matches no index template"),
        ("siem-events", lambda b: b["attributes"].update(timeFieldName="siem.source"), "time field"),
        ("siem-events", lambda b: b["attributes"].update(fields="[]"), "leave `fields` out"),
        (
            "siem-search-quarantined-records",
            lambda b: b["attributes"].update(columns=["nope"]),
            "column 'nope'",
        ),
        (
            "siem-search-quarantined-records",
            lambda b: b["attributes"].update(sort=[["raw", "desc"]]),
            "'raw' (text)",
        ),
        ("siem-dash-web", lambda b: b["references"].pop(), "refers to no reference 'panel_3'"),
        ("siem-dash-web", lambda b: b["attributes"].update(panelsJSON="[]"), "unused references"),
    ],
)
def test_validation_finds_each_kind_of_problem(
    object_id: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    offenders = validate(_mutated(object_id, change))
    assert any(expected in o for o in offenders), offenders


def test_query_fields_and_values_are_read_from_lucene() -> None:
    query = (
        "(process.name:sshd AND event.action:ssh_login) OR _exists_:aws.cloudtrail.errorCode OR "
        'message:"a: quoted colon" OR rule.id:("a-b" OR c) OR http.response.status_code:[400 TO 599]'
    )
    assert query_fields(query) == {
        "process.name",
        "event.action",
        "aws.cloudtrail.errorCode",
        "message",
        "rule.id",
        "http.response.status_code",
    }
    assert field_values(query, "rule.id") == ["a-b", "c"]
    assert field_values('rule.tags:"cis_aws.v1.4.4.1"', "rule.tags") == ["cis_aws.v1.4.4.1"]


def test_index_pattern_titles_match_the_templates_they_should() -> None:
    assert [t.name for t in templates_for("siem-events-web-access-*")] == ["siem-events-web-access"]
    assert sorted(t.name for t in templates_for("siem-events-*")) == sorted(f"siem-events-{s}" for s in source_names())
    assert [t.name for t in templates_for("siem-findings")] == ["siem-findings"]
    assert templates_for("siem-events") == templates_for("siem-events-*")  # the alias over every source
    events = fields_for("siem-events-*")
    assert events["user_agent.original"].kind == "string" and events["user_agent.original"].aggregatable
    assert events["aws.cloudtrail.user_identity.arn"].types == frozenset({"keyword"})  # an alias, resolved
    assert not events["event.original"].searchable
    assert events["url.original.text"].types == frozenset({"text"})
