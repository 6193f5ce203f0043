"""The fields an index pattern offers, derived from the index templates whose indices its title matches.

This mirrors what Dashboards learns from `_field_caps`: a field is searchable when it is indexed,
aggregatable when it has doc values, and a `conflict` when the matched templates disagree on its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from dagster_project.storage.artifacts import StorageArtifact, load_artifacts, merged_mappings

KINDS = {
    "keyword": "string",
    "constant_keyword": "string",
    "wildcard": "string",
    "text": "string",
    "match_only_text": "string",
    "long": "number",
    "integer": "number",
    "short": "number",
    "byte": "number",
    "double": "number",
    "float": "number",
    "half_float": "number",
    "scaled_float": "number",
    "unsigned_long": "number",
    "date": "date",
    "date_nanos": "date",
    "ip": "ip",
    "boolean": "boolean",
    "flat_object": "flat_object",
}
"""Mapping type -> the kind Dashboards shows (string, number, date, ip, boolean, ...)."""
DOC_VALUES_TYPES = frozenset(KINDS) - {"text", "match_only_text", "flat_object", "wildcard"}
EXAMPLE_SUFFIX = "2024.01.01"
"""Stands in for the `*` of a template's pattern to name an index it would apply to."""


@dataclass(frozen=True)
class Field:
    """One field as an index pattern sees it: mapping types over the matched templates, capabilities."""

    name: str
    types: frozenset[str]
    searchable: bool
    aggregatable: bool

    @property
    def kind(self) -> str:
        """string, number, date, ip, boolean, flat_object, or `conflict` when the templates disagree."""
        kinds = {KINDS.get(t, t) for t in self.types}
        return kinds.pop() if len(kinds) == 1 else "conflict"


def templates_for(title: str) -> list[StorageArtifact]:
    """The index templates that apply to what `title` (comma-separated globs or aliases) reads.

    A template applies when an index it would create matches one of the globs, or when it puts its
    indices behind an alias the title names (`siem-events`).
    """
    patterns = [p.strip() for p in title.split(",") if p.strip()]
    matched = []
    for template in load_artifacts("index_template"):
        examples = {
            p.replace("*", suffix) for p in template.body.get("index_patterns", []) for suffix in ("", EXAMPLE_SUFFIX)
        }
        aliases = set(template.body.get("template", {}).get("aliases", {}))
        globbed = any(fnmatchcase(example, pattern) for example in examples for pattern in patterns)
        if globbed or aliases & set(patterns):
            matched.append(template)
    return matched


def fields_for(title: str) -> dict[str, Field]:
    """Every field declared for the indices `title` matches (empty when no template matches)."""
    per_template = [_flatten(merged_mappings(t.body.get("composed_of", []))) for t in templates_for(title)]
    names = sorted({name for fields in per_template for name in fields})
    combined: dict[str, Field] = {}
    for name in names:
        found = [fields[name] for fields in per_template if name in fields]
        combined[name] = Field(
            name=name,
            types=frozenset(t for f in found for t in f.types),
            searchable=all(f.searchable for f in found),
            aggregatable=all(f.aggregatable for f in found),
        )
    return combined


def _flatten(mappings: dict[str, Any]) -> dict[str, Field]:
    leaves: dict[str, dict[str, Any]] = {}
    _walk(mappings.get("properties", {}), "", leaves)
    fields: dict[str, Field] = {}
    for name, spec in leaves.items():
        target = spec
        if spec.get("type") == "alias":
            target = leaves.get(str(spec.get("path")), {})
            if not target or target.get("type") == "alias":
                continue  # a dangling alias offers nothing to search
        kind = str(target.get("type"))
        indexed = target.get("index", True) is not False
        fields[name] = Field(
            name=name,
            types=frozenset({kind}),
            searchable=indexed,
            aggregatable=kind in DOC_VALUES_TYPES and target.get("doc_values", True) is not False,
        )
    return fields


def _walk(properties: dict[str, Any], prefix: str, leaves: dict[str, dict[str, Any]]) -> None:
    for key, spec in properties.items():
        name = f"{prefix}{key}"
        if "properties" in spec or spec.get("type") in (None, "object", "nested"):
            if spec.get("enabled", True) is not False:
                _walk(spec.get("properties", {}), f"{name}.", leaves)
            continue
        leaves[name] = spec
        for sub, sub_spec in spec.get("fields", {}).items():
            leaves[f"{name}.{sub}"] = sub_spec
