"""The declaration of a log source: one frozen `SourceSpec` beside each parser, from which everything else derives.

A source module declares `SPEC = SourceSpec(...)`; the registry finds it there. The CLI's `--source`
choices, the Dagster ingestion assets and the findings asset's inputs, detection's routing of Sigma
log sources (with their field mappings) and `siem demo`'s samples are all read from the specs, so
adding a source is its module (parser + spec) and its templates, and nothing else. Index names are
not stored here: `storage.naming` makes them from `SourceSpec.name` when they are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from dagster_project.errors import ConfigurationError
from dagster_project.sources.base import SourceContext, SourceParser

_SOURCE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LOGSOURCE_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def _ecs_names(ecs: str | tuple[str, ...]) -> bool:
    names = (ecs,) if isinstance(ecs, str) else ecs
    return bool(names) and all(name and " " not in name for name in names)


@dataclass(frozen=True)
class SigmaLogsource:
    """A Sigma log source whose rules search one source's events, and its rules' field names in ECS.

    A rule belongs to it when the rule names the same `service` and `category` (both may be unset) and,
    where `product` is set here, the same product. Several log sources may feed from one source (Windows:
    its channels and its Sysmon, PowerShell and Security event categories), told apart by `dataset` or
    `selects` when they share its index.
    """

    name: str
    """Short name, unique across sources; also the folder under `detectors/rules/` for its curated rules."""
    product: str | None = None
    service: str | None = None
    category: str | None = None
    fields: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    """Sigma field name -> ECS field name (or names: a rule's match on it holds when it holds on any of them).
    Without a `pipeline`, a rule field not listed here fails compilation; with one, these are the suite's own
    mappings, applied before the pipeline maps the rest."""
    nested: Mapping[str, str] = field(default_factory=dict)
    """Sigma object field -> the ECS keyword field holding its leaves as `path=value` entries (with a `caseless`
    sub-field): a rule field `<object>.<path>` matches the entries of that path, the bare `<object>` any entry.
    For objects whose keys are open-ended (CloudTrail's `requestParameters`); `fields` takes precedence."""
    dataset: str | None = None
    """The `event.dataset` a rule's query is narrowed to; None searches every event of the source."""
    selects: tuple[Mapping[str, tuple[str, ...]], ...] = ()
    """Which events of the source a rule's query is narrowed to: those meeting any one of these conditions,
    each an ECS field -> allowed values mapping whose fields must all hold (empty: no narrowing)."""
    pipeline: str | None = None
    """A maintained pySigma processing pipeline, by its plugin name (`ecs_windows`), that maps the field names
    `fields` leaves; None: `fields` is the whole mapping."""
    keywords: str | None = None
    """The one field that a rule's keyword searches (values without a field) look in, as substrings in any letter
    case (a keyword field with a `caseless` normalizer or sub-field); None: keyword searches fail compilation.
    One field, not a pattern: a pattern expands to an automaton per keyword and field on the node."""
    cidr_fields: Mapping[str, str] = field(default_factory=dict)
    """Sigma field name -> the ECS `ip` field its `|cidr` values are matched on, where `fields` maps its other
    values to a text field (addresses kept as written, so that `startswith` and `-` match)."""
    hashes: str | None = None
    """The ECS object (`process`, `file`) whose `hash.*` and `pe.imphash` the source fills from the log source's
    Sysmon `Hashes`/`Hash` value: a rule's `Hashes|contains` digests become exact terms there. None: unparsed."""

    def __post_init__(self) -> None:
        where = f"Sigma log source {self.name!r}"
        if not _LOGSOURCE_NAME.fullmatch(self.name):
            raise ConfigurationError("name must be lowercase words joined by `_`", where=where)
        if self.product is None and self.service is None and self.category is None:
            raise ConfigurationError("needs a product, a service or a category", where=where)
        for label, mapping in (("fields", self.fields), ("cidr_fields", self.cidr_fields), ("nested", self.nested)):
            bad = [name for name, ecs in mapping.items() if not name or not _ecs_names(ecs)]
            if bad:
                raise ConfigurationError(f"{label} without an ECS name: {bad}", where=where)
        if any(not condition or not all(condition.values()) for condition in self.selects):
            raise ConfigurationError("a `selects` condition needs fields and values", where=where)
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "cidr_fields", MappingProxyType(dict(self.cidr_fields)))
        object.__setattr__(self, "nested", MappingProxyType(dict(self.nested)))
        object.__setattr__(
            self,
            "selects",
            tuple(MappingProxyType({name: tuple(values) for name, values in c.items()}) for c in self.selects),
        )

    def matches(self, product: str | None, service: str | None, category: str | None) -> bool:
        """True when a rule's log source is this one: same service and category, and same product if set here."""
        if self.product is not None and product != self.product:
            return False
        return service == self.service and category == self.category


@dataclass(frozen=True)
class SourceSpec:
    """Everything the suite knows about one log source, declared once beside its parser."""

    name: str
    """The source's name: `--source`, the landing folder, the index family (`naming.events_pattern`)."""
    description: str
    """One line: what the source reads (the Dagster asset's description)."""
    parser: Callable[[SourceContext], SourceParser]
    """Makes the parser of one input (a file, or a receiver's stream): usually the parser class."""
    datasets: tuple[str, ...] = ()
    """The `event.dataset` values its events carry by name; empty when they come with the input (jsonl)."""
    logsources: tuple[SigmaLogsource, ...] = ()
    """The Sigma log sources whose rules run on its events."""
    samples: tuple[str, ...] = ()
    """Glob patterns, relative to the shared sample folder, of what `siem demo` ingests as this source."""
    syslog: bool = False
    """Its parser reads whole syslog lines (header included); a syslog receiver feeding any other source hands
    over only the message part, keeping the header's fields (`collect.ingestion`)."""
    component_templates: tuple[str, ...] = ()
    """Its own component templates, by the name after the suite's prefix (`index_templates/component_templates/`);
    empty means one named after the source. Its index template is named after the source too."""

    def __post_init__(self) -> None:
        where = f"source {self.name!r}"
        if not _SOURCE_NAME.fullmatch(self.name):
            raise ConfigurationError("name must be lowercase words joined by `-`", where=where)
        if not self.component_templates:
            object.__setattr__(self, "component_templates", (self.name,))
        for logsource in self.logsources:
            if logsource.dataset is not None and logsource.dataset not in self.datasets:
                raise ConfigurationError(
                    f"Sigma log source {logsource.name!r} narrows to dataset {logsource.dataset!r}, "
                    f"which is not one of {list(self.datasets)}",
                    where=where,
                )
        names = [logsource.name for logsource in self.logsources]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"Sigma log source names repeat: {names}", where=where)
        for pattern in self.samples:
            path = PurePosixPath(pattern)
            if path.is_absolute() or ".." in path.parts:
                raise ConfigurationError(f"sample {pattern!r} must be relative to the samples folder", where=where)
