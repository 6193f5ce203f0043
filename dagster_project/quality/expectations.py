"""Each source's expectations, from its templates alone: `_meta.required_fields` and ip-typed mappings.

`_meta.required_fields` maps each PCI DSS 10.2.2 element (role) a source's records carry to the field that
holds it, or to alternatives (any one present is enough). A role that only some kinds of event have is
declared with the kinds it applies to: `{"fields": [...], "where": [{field: value or [values]}, ...]}`,
the clauses ORed, the tests of a clause ANDed (an anonymous web request has no user; a cron line has no
source address). Records of those kinds that lack the field fail `required_fields`; others are not judged
on that role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dagster_project.errors import ArtifactError
from dagster_project.storage import naming
from dagster_project.storage.artifacts import component_template, load_artifacts, merged_mappings

ROLES = ("who", "what", "when", "outcome", "origin", "resource")
"""The PCI DSS 10.2.2 audit-trail elements a template may declare a field for."""
OUTCOMES = ("success", "failure", "unknown")
"""The values ECS allows in event.outcome."""
OUTCOME_FIELD = "event.outcome"


Clause = tuple[tuple[str, tuple[str, ...]], ...]
"""(field, accepted values) tests that must all hold."""


@dataclass(frozen=True)
class Requirement:
    """One declared role, the fields that satisfy it (any one present is enough), and the events it applies to."""

    role: str
    fields: tuple[str, ...]
    where: tuple[Clause, ...] = ()
    """Clauses (any one) selecting the events that must carry the role; empty: every event."""
    declared: Any = None
    """The declaration as written in the template."""

    def applies_query(self) -> dict[str, Any] | None:
        """The query selecting the events this role applies to (None: every event)."""
        if not self.where:
            return None
        clauses = [
            {"bool": {"filter": [{"terms": {field: list(values)}} for field, values in clause]}}
            for clause in self.where
        ]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}

    def condition_fields(self) -> list[str]:
        """The fields its `where` clauses test."""
        return sorted({field for clause in self.where for field, _ in clause})


@dataclass(frozen=True)
class SourceExpectations:
    """What every partition of one source must satisfy; built only by `load_expectations`."""

    source: str
    required: tuple[Requirement, ...]
    ip_fields: tuple[str, ...]
    """Fields the source's mappings type as `ip`, in a stable order."""
    template: str
    """Where `required` came from (the component template's path)."""

    def required_fields(self) -> dict[str, Any]:
        """The declaration as written in the template: role -> field, alternatives, or fields with `where`."""
        return {r.role: r.declared for r in self.required}

    def sample_fields(self) -> list[str]:
        """The fields the sample checks read."""
        return [OUTCOME_FIELD, *self.ip_fields]


def load_expectations(source: str) -> SourceExpectations:
    """Read component `siem-<source>` and index template `siem-events-<source>`; ArtifactError if unusable."""
    artifact = component_template(naming.component_template_name(source))
    where = str(artifact.path)
    declared = artifact.body.get("_meta", {}).get("required_fields")
    if not isinstance(declared, dict) or not declared:
        raise ArtifactError("no _meta.required_fields (an object: role -> ECS field)", where=where)
    required = tuple(_requirement(role, value, where) for role, value in declared.items())
    return SourceExpectations(
        source=source,
        required=required,
        ip_fields=tuple(sorted(_ip_fields(source))),
        template=where,
    )


def _requirement(role: str, value: Any, where: str) -> Requirement:
    if role not in ROLES:
        raise ArtifactError(f"_meta.required_fields: unknown role {role!r} (known: {', '.join(ROLES)})", where=where)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"fields", "where"})
        if unknown or "fields" not in value:
            raise ArtifactError(
                f"_meta.required_fields.{role}: an object needs `fields` and may have `where` (got {sorted(value)})",
                where=where,
            )
        fields = _fields(role, value["fields"], where)
        return Requirement(role, fields, _clauses(role, value.get("where", []), where), value)
    return Requirement(role, _fields(role, value, where), (), value)


def _fields(role: str, value: Any, where: str) -> tuple[str, ...]:
    fields = [value] if isinstance(value, str) else value
    if not isinstance(fields, list) or not fields or not all(_is_field(f) for f in fields):
        raise ArtifactError(
            f"_meta.required_fields.{role}: expected a field name or a list of them, got {value!r}",
            where=where,
        )
    return tuple(fields)


def _clauses(role: str, value: Any, where: str) -> tuple[Clause, ...]:
    problem = f"_meta.required_fields.{role}.where: expected a list of {{field: value or [values]}} clauses"
    if not isinstance(value, list) or not value:
        raise ArtifactError(f"{problem}, got {value!r}", where=where)
    clauses = []
    for clause in value:
        if not isinstance(clause, dict) or not clause:
            raise ArtifactError(f"{problem}, got {clause!r}", where=where)
        tests = []
        for field, accepted in clause.items():
            values = accepted if isinstance(accepted, list) else [accepted]
            if not _is_field(field) or not isinstance(values, list) or not values:
                raise ArtifactError(f"{problem}, got {clause!r}", where=where)
            if not all(isinstance(v, str) and v for v in values):
                raise ArtifactError(f"{problem} (values are strings), got {clause!r}", where=where)
            tests.append((field, tuple(values)))
        clauses.append(tuple(tests))
    return tuple(clauses)


def _is_field(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value.strip() == value and " " not in value


def _ip_fields(source: str) -> list[str]:
    """Fields typed `ip` by the components the source's index template is composed of."""
    name = naming.events_family(source)
    for template in load_artifacts("index_template"):
        if template.name == name:
            components = template.body.get("composed_of", [])
            return list(_typed(merged_mappings(components).get("properties", {}), "ip"))
    raise ArtifactError(f"no index template {name!r}", where="index_templates/index_templates")


def _typed(properties: dict[str, Any], wanted: str, prefix: str = "") -> Iterator[str]:
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == wanted:
            yield f"{prefix}{name}"
        yield from _typed(spec.get("properties", {}), wanted, f"{prefix}{name}.")
