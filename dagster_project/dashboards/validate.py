"""Checks the saved objects against each other, the index templates and the detection rules (pure).

Every problem becomes one line `file:line: message`; an empty list means Dashboards can import the
objects and every panel asks for fields that exist, with a type its aggregation can use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from dagster_project.dashboards.fields import Field, fields_for, templates_for
from dagster_project.dashboards.objects import JSON_ATTRIBUTES, SavedObject, by_id
from dagster_project.dashboards.translate import BUCKETS, METRICS, index_pattern_of, search_request
from dagster_project.detection.rules import Rule, load_rules
from dagster_project.errors import ArtifactError, SiemError

TOP_LEVEL = frozenset({"type", "id", "attributes", "references", "migrationVersion"})
"""What a hand-written object may carry; `updated_at`, `version`, `namespaces` are the server's to write."""
VIS_TYPES = frozenset({"histogram", "line", "area", "horizontal_bar", "pie", "table", "metric"})
AGG_KINDS = {
    "terms": {"string", "number", "ip", "boolean", "date"},
    "cardinality": {"string", "number", "ip", "boolean", "date"},
    "date_histogram": {"date"},
    "sum": {"number"},
    "avg": {"number"},
    "min": {"number", "date"},
    "max": {"number", "date"},
}
"""The field kinds each aggregation accepts (the field must also be aggregatable)."""
GRID_COLUMNS = 48
QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
FIELD_REF = re.compile(r"(?<![\w.@\\])([@A-Za-z_][\w.@]*)\s*:")
EXISTS = re.compile(r"_exists_\s*:\s*([@A-Za-z_][\w.@]*)")
RULE_FIELDS = {
    "rule.id": "id",
    "rule.title": "title",
    "rule.tags": "tags",
    "alert.rule_id": "id",
    "alert.tags": "tags",
}
"""Query fields whose values must name something in detectors/ (a rule id, title or tag)."""
EPOCH = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def query_fields(query: str) -> set[str]:
    """The field names a lucene query refers to (`field:value`, `_exists_:field`), quoted text ignored."""
    bare = QUOTED.sub('""', query)
    fields = {name for name in FIELD_REF.findall(bare) if name != "_exists_"}
    return fields | set(EXISTS.findall(bare))


def field_values(query: str, field: str) -> list[str]:
    """The values a lucene query compares `field` with (`f:v`, `f:"v"`, `f:(v1 OR "v2")`)."""
    values: list[str] = []
    pattern = re.compile(re.escape(field) + r'\s*:\s*(\([^)]*\)|"(?:\\.|[^"\\])*"|[^\s)]+)')
    for match in pattern.finditer(query):
        group = match.group(1).strip("()")
        for token in re.findall(r'"(?:\\.|[^"\\])*"|[^\s]+', group):
            if token not in ("OR", "AND", "NOT"):
                values.append(token.strip('"'))
    return values


FieldsOf = Callable[[str], dict[str, Field]]
"""Index pattern title -> its fields: from the index templates (default) or a live node's `_field_caps`."""


def validate(
    objects: list[SavedObject], rules: Iterable[Rule] | None = None, fields_of: FieldsOf = fields_for
) -> list[str]:
    """Every problem with `objects` as `file:line: message`; [] when they are importable and consistent."""
    offenders: list[str] = []
    counts = Counter(o.id for o in objects)
    offenders += [f"{o.where}: id {o.id!r} is used {counts[o.id]} times" for o in objects if counts[o.id] > 1]
    known = by_id(objects)
    context = _Context(tuple(rules) if rules is not None else load_rules(), fields_of)
    for obj in objects:
        extra = set(obj.body) - TOP_LEVEL
        if extra:
            offenders.append(f"{obj.where}: server-managed or unknown keys {sorted(extra)}")
        for reference in obj.references:
            if (reference.type, reference.id) not in known:
                target = f"{reference.type} {reference.id!r}"
                offenders.append(f"{obj.where}: reference {reference.name!r} -> {target} not found")
        offenders += _guard(_json_attributes, obj, objects, context)
        offenders += _guard(CHECKS[obj.type], obj, objects, context)
    return offenders


class _Context:
    """What the checks compare against: the rules' ids, titles and tags, and each index pattern's fields."""

    def __init__(self, rules: tuple[Rule, ...], fields_of: FieldsOf) -> None:
        self.values = {
            "id": {r.id for r in rules},
            "title": {r.title for r in rules},
            "tags": {t for r in rules for t in r.tags},
        }
        self._fields_of = fields_of
        self._fields: dict[str, dict[str, Field]] = {}

    def fields(self, title: str) -> dict[str, Field]:
        if title not in self._fields:
            self._fields[title] = self._fields_of(title)
        return self._fields[title]

    def unknown(self, query: str) -> list[str]:
        missing = []
        for field, attribute in RULE_FIELDS.items():
            for value in field_values(query, field):
                if not any(fnmatchcase(known, value) for known in self.values[attribute]):
                    missing.append(f"{field}:{value} names no rule {attribute} in detectors/")
        return missing


Check = Callable[[SavedObject, list[SavedObject], _Context], list[str]]


def _guard(check: Check, obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    try:
        found = check(obj, objects, context)
    except SiemError as exc:
        return [f"{obj.where}: {exc.message}"]
    return [f"{obj.where}: {message}" for message in found]


def _json_attributes(obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    for name in JSON_ATTRIBUTES:
        if name in obj.attributes:
            obj.json_attribute(name)
    obj.search_source  # noqa: B018  (parses, raising on malformed JSON)
    return []


def _index_pattern(obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    title = obj.title
    if not title or not templates_for(title):
        return [f"index pattern {obj.id!r}: title {title!r} matches no index template"]
    problems = []
    if "fields" in obj.attributes:
        problems.append(f"index pattern {obj.id!r}: leave `fields` out; Dashboards reads them from the mappings")
    time_field = obj.attributes.get("timeFieldName")
    if time_field:
        problems += _field_problems(
            context.fields(title), time_field, f"time field of {obj.id!r}", {"date"}, aggregate=True
        )
    return problems


def _search(obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    pattern = index_pattern_of(obj, objects)
    fields = context.fields(pattern.title)
    problems = _query_problems(obj, fields, context)
    for column in obj.attributes.get("columns", []):
        if column != "_source" and column not in fields:
            problems.append(f"search {obj.id!r}: column {column!r} is not a field of {pattern.title!r}")
    for item in obj.attributes.get("sort", []):
        if not (isinstance(item, list) and len(item) == 2 and item[1] in ("asc", "desc")):
            problems.append(f"search {obj.id!r}: sort entry {item!r} is not [field, asc|desc]")
            continue
        problems += _field_problems(fields, item[0], f"sort of {obj.id!r}", None, aggregate=True)
    return problems + _translation_problems(obj, objects)


def _visualization(obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    state = obj.json_attribute("visState")
    problems = []
    if state.get("title") != obj.title:
        problems.append(f"visualization {obj.id!r}: visState title {state.get('title')!r} != title {obj.title!r}")
    if state.get("type") not in VIS_TYPES:
        problems.append(f"visualization {obj.id!r}: type {state.get('type')!r} is not one of {sorted(VIS_TYPES)}")
    pattern = index_pattern_of(obj, objects)
    fields = context.fields(pattern.title)
    problems += _query_problems(obj, fields, context)
    aggs = [a for a in state.get("aggs", []) if a.get("enabled", True)]
    if not any(a.get("type") in METRICS for a in aggs):
        problems.append(f"visualization {obj.id!r}: no metric aggregation")
    for agg in aggs:
        kind, params = agg.get("type"), agg.get("params", {})
        if kind not in METRICS + BUCKETS:
            continue  # search_request below reports it
        if kind in AGG_KINDS:
            what = f"{kind} aggregation {agg.get('id')} of {obj.id!r}"
            problems += _field_problems(fields, params.get("field", ""), what, AGG_KINDS[kind], aggregate=True)
        for item in params.get("filters", []) if kind == "filters" else []:
            text = item.get("input", {}).get("query", "")
            problems += _lucene_field_problems(str(text), fields, f"filter {item.get('label')!r} of {obj.id!r}")
            problems += context.unknown(str(text))
    return problems + _translation_problems(obj, objects)


def _dashboard(obj: SavedObject, objects: list[SavedObject], context: _Context) -> list[str]:
    problems = _query_problems(obj, {}, context)
    panels = obj.json_attribute("panelsJSON")
    names = {r.name for r in obj.references}
    used = set()
    for panel in panels:
        grid = panel.get("gridData", {})
        name = panel.get("panelRefName")
        used.add(name)
        if name not in names:
            problems.append(f"dashboard {obj.id!r}: panel {panel.get('panelIndex')!r} refers to no reference {name!r}")
        if grid.get("i") != panel.get("panelIndex") or grid.get("x", 0) + grid.get("w", 0) > GRID_COLUMNS:
            problems.append(f"dashboard {obj.id!r}: panel {panel.get('panelIndex')!r} has a bad gridData {grid}")
    indexes = [p.get("panelIndex") for p in panels]
    if len(set(indexes)) != len(indexes):
        problems.append(f"dashboard {obj.id!r}: panelIndex values repeat")
    if names - used:
        problems.append(f"dashboard {obj.id!r}: unused references {sorted(names - used)}")
    for reference in obj.references:
        if reference.type not in ("visualization", "search"):
            problems.append(f"dashboard {obj.id!r}: panel {reference.name!r} is a {reference.type}")
    return problems


CHECKS: dict[str, Check] = {
    "index-pattern": _index_pattern,
    "search": _search,
    "visualization": _visualization,
    "dashboard": _dashboard,
}
"""The checks of each saved object type (a plain registry)."""


def _translation_problems(obj: SavedObject, objects: list[SavedObject]) -> list[str]:
    try:
        search_request(obj, objects, *EPOCH)
    except ArtifactError as exc:
        return [exc.message]
    return []


def _query_problems(obj: SavedObject, fields: dict[str, Field], context: _Context) -> list[str]:
    source = obj.search_source
    query = source.get("query", {})
    text = query.get("query", "") if isinstance(query, dict) else ""
    if not isinstance(text, str):
        raise ArtifactError(f"{obj.type} {obj.id!r}: the query must be text", where=obj.where)
    if text.strip() and (not isinstance(query, dict) or query.get("language") != "lucene"):
        return [f"{obj.type} {obj.id!r}: write queries in lucene (exact translation), not {query!r}"]
    if obj.type == "dashboard":
        return [f"dashboard {obj.id!r}: keep dashboard-level queries empty"] if text.strip() else []
    return _lucene_field_problems(text, fields, f"query of {obj.id!r}") + context.unknown(text)


def _lucene_field_problems(text: str, fields: dict[str, Field], what: str) -> list[str]:
    problems = []
    for name in sorted(query_fields(text)):
        problems += _field_problems(fields, name, what, None, aggregate=False)
    return problems


def _field_problems(
    fields: dict[str, Field], name: str, what: str, kinds: set[str] | None, *, aggregate: bool
) -> list[str]:
    field = fields.get(name)
    if field is None:
        return [f"{what}: field {name!r} is not in the index templates"]
    problems = []
    if kinds is not None and field.kind not in kinds:
        types = ", ".join(sorted(field.types))
        problems.append(f"{what}: field {name!r} is {field.kind} ({types}), needs {sorted(kinds)}")
    if aggregate and not field.aggregatable:
        problems.append(f"{what}: field {name!r} ({', '.join(sorted(field.types))}) is not aggregatable")
    if not aggregate and not field.searchable:
        problems.append(f"{what}: field {name!r} is not indexed, so it cannot be searched")
    return problems
