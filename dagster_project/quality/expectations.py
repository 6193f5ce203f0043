"""Each source's expectations, from its templates alone: `_meta.required_fields` and ip-typed mappings."""

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


@dataclass(frozen=True)
class Requirement:
    """One declared role and the fields that satisfy it (any one of them present is enough)."""

    role: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class SourceExpectations:
    """What every partition of one source must satisfy; built only by `load_expectations`."""

    source: str
    required: tuple[Requirement, ...]
    ip_fields: tuple[str, ...]
    """Fields the source's mappings type as `ip`, in a stable order."""
    template: str
    """Where `required` came from (the component template's path)."""

    def required_fields(self) -> dict[str, str | list[str]]:
        """The declaration as written in the template: role -> field (or alternatives)."""
        return {r.role: r.fields[0] if len(r.fields) == 1 else list(r.fields) for r in self.required}

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
    fields = [value] if isinstance(value, str) else value
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and f.strip() == f and f and " " not in f for f in fields)
    ):
        raise ArtifactError(
            f"_meta.required_fields.{role}: expected a field name or a list of them, got {value!r}",
            where=where,
        )
    return Requirement(role, tuple(fields))


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
