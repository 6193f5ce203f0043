"""Compliance frameworks loaded from `reports/frameworks/<name>.yaml` into an immutable, validated model.

A framework file lists controls with their official numbering, a paraphrase, and the evidence each needs,
declared as data: event queries (ECS field filters and which aggregations to run), detector coverage
(rule tags), data-quality results, retention, integrity, alert review and the GDPR breach clock.
Errors name the file and the line of the offending YAML node.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dagster_project.errors import ReportError
from dagster_project.paths import repo_dir
from dagster_project.reports.model import INTEGRITY_CHECKS, IntegrityCheck

Cadence = Literal["daily", "weekly", "monthly"]
Scalar = str | int | float | bool
_FIELD = re.compile(r"^[@A-Za-z_][A-Za-z0-9_.@-]*$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_SAMPLES = 20
MAX_TOP = 20


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldOp(_Frozen):
    """A test on one field other than equality: exists, prefix, wildcard or a range."""

    exists: bool | None = None
    prefix: str | None = None
    wildcard: str | None = None
    gte: float | str | None = None
    gt: float | str | None = None
    lte: float | str | None = None
    lt: float | str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FieldOp:
        kinds = [self.exists is not None, self.prefix is not None, self.wildcard is not None]
        ranged = any(v is not None for v in (self.gte, self.gt, self.lte, self.lt))
        if sum(kinds) + ranged != 1:
            raise ValueError("use exactly one of exists, prefix, wildcard, or a range (gte/gt/lte/lt)")
        return self


FieldTest = Scalar | tuple[Scalar, ...] | FieldOp
"""A scalar means equality, a list means any of these values, a mapping is a FieldOp."""

Clause = dict[str, FieldTest]
"""Field tests that must all hold (AND)."""


def _check_fields(clauses: tuple[Clause, ...]) -> tuple[Clause, ...]:
    for clause in clauses:
        for field in clause:
            if not _FIELD.match(field):
                raise ValueError(f"{field!r} is not a field name")
        for test in clause.values():
            if isinstance(test, tuple) and not test:
                raise ValueError("an empty list of values matches nothing")
    return clauses


class EventsEvidence(_Frozen):
    """Events matching `match` (any clause) and no `exclude` clause, aggregated and sampled."""

    kind: Literal["events"]
    id: str
    title: str
    match: tuple[Clause, ...] = ()
    """Clauses ORed together; empty matches every event of `sources`."""
    exclude: tuple[Clause, ...] = ()
    sources: tuple[str, ...] = ()
    """Log sources searched (index families); empty means the control's `applies_to`, else all."""
    top: tuple[str, ...] = ()
    """Fields whose most frequent values are tabulated (terms aggregations)."""
    top_size: int = Field(default=10, ge=1, le=MAX_TOP)
    trend: bool = False
    """A daily (or hourly, for a one-day period) date_histogram, drawn as a chart."""
    samples: int = Field(default=5, ge=1, le=MAX_SAMPLES)
    """Sample events shown (newest first): every evidence with events shows some."""
    expect: Literal["present", "any"] = "any"
    """`present`: no matching event is a gap. `any`: none is itself evidence, stated with `none`."""
    none: str
    """What an empty result means, said plainly: e.g. 'no console sign-in without MFA in the period'."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _valid_id(value)

    @field_validator("match", "exclude")
    @classmethod
    def _clauses(cls, value: tuple[Clause, ...]) -> tuple[Clause, ...]:
        return _check_fields(value)

    @field_validator("top")
    @classmethod
    def _top_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for field in value:
            if not _FIELD.match(field):
                raise ValueError(f"{field!r} is not a field name")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_sources(value)


class DetectorsEvidence(_Frozen):
    """Detection rules whose tags map to the control, and the findings they raised in the period."""

    kind: Literal["detectors"]
    tags: tuple[str, ...] = ()
    """Exact rule tags; empty means the control's `tags`."""
    tag_prefix: str | None = None
    """Also count every rule with a tag starting with this (e.g. `pci_dss.v4.`)."""
    min_rules: int = Field(default=1, ge=0)


class DataQualityEvidence(_Frozen):
    """Data-quality results (siem-dq) per source in the period."""

    kind: Literal["data_quality"]
    sources: tuple[str, ...] = ()
    gap_on_blocking_failure: bool = True

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_sources(value)


class RetentionEvidence(_Frozen):
    """The retention actually configured, compared with what the control asks for."""

    kind: Literal["retention"]
    min_days: int | None = Field(default=None, ge=1)
    min_hot_days: int | None = Field(default=None, ge=1)


class IntegrityEvidence(_Frozen):
    """What the control claims of the period's events: write protection past the hot phase, content hashes,
    every event verified against the integrity chains (by event time), and the chain heads signed on time."""

    kind: Literal["integrity"]
    checks: tuple[IntegrityCheck, ...] = Field(default=INTEGRITY_CHECKS, min_length=1)
    """The claims the status depends on (all of them unless the control says otherwise)."""


class AlertReviewEvidence(_Frozen):
    """Alerts raised in the period: open vs acknowledged vs resolved, and how long open ones wait."""

    kind: Literal["alert_review"]
    max_open_hours: int = Field(default=72, ge=1)
    """An alert still active this long after it was first seen is a gap (not reviewed)."""


class BreachClockEvidence(_Frozen):
    """Breach-candidate findings and the time since detection against a notification deadline."""

    kind: Literal["breach_clock"]
    tag: str = "gdpr.art33"
    levels: tuple[str, ...] = ("high", "critical")
    clock_hours: int = Field(default=72, ge=1)


class FieldCompletenessEvidence(_Frozen):
    """The share of events that carry each field an audit record needs."""

    kind: Literal["field_completeness"]
    fields: tuple[str, ...] = Field(min_length=1)
    required: tuple[str, ...] = ()
    """Fields that must reach `min_ratio` in every source; the others are shown for information."""
    min_ratio: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _required_listed(self) -> FieldCompletenessEvidence:
        missing = sorted(set(self.required) - set(self.fields))
        if missing:
            raise ValueError(f"required fields not in fields: {', '.join(missing)}")
        return self


Evidence = Annotated[
    EventsEvidence
    | DetectorsEvidence
    | DataQualityEvidence
    | RetentionEvidence
    | IntegrityEvidence
    | AlertReviewEvidence
    | BreachClockEvidence
    | FieldCompletenessEvidence,
    Field(discriminator="kind"),
]


class Control(_Frozen):
    """One control: official id, our paraphrase, the rule tags that map to it, and its evidence."""

    id: str
    title: str
    summary: str
    """A short paraphrase in our own words, not the standard's text."""
    tags: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()
    """Log sources the control is about; with none of them collected at all, it is not applicable."""
    not_applicable: str | None = None
    """When set, the control is reported not applicable with this reason."""
    evidence: tuple[Evidence, ...] = ()

    @field_validator("applies_to")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_sources(value)

    @model_validator(mode="after")
    def _consistent(self) -> Control:
        if not self.evidence and self.not_applicable is None:
            raise ValueError(f"control {self.id} declares no evidence and is not marked not_applicable")
        ids = [e.id for e in self.evidence if isinstance(e, EventsEvidence)]
        if len(ids) != len(set(ids)):
            raise ValueError(f"control {self.id}: event evidence ids must be unique")
        for item in self.evidence:
            if isinstance(item, DetectorsEvidence) and not (item.tags or item.tag_prefix or self.tags):
                raise ValueError(f"control {self.id}: detectors evidence needs tags (on it or on the control)")
        return self


class Framework(_Frozen):
    """A compliance framework: its controls, the cadences it is reported at, and the file it came from."""

    name: str
    title: str
    version: str
    description: str
    cadences: tuple[Cadence, ...] = Field(min_length=1)
    controls: tuple[Control, ...] = Field(min_length=1)
    path: str = ""

    @model_validator(mode="after")
    def _unique(self) -> Framework:
        ids = [c.id for c in self.controls]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate control ids: {', '.join(duplicates)}")
        return self

    def control(self, control_id: str) -> Control:
        """One control by id (KeyError if absent)."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)


def _valid_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{value!r}: use lower-case letters, digits, '-' and '_'")
    return value


def _valid_sources(value: tuple[str, ...]) -> tuple[str, ...]:
    for source in value:
        if not _SOURCE.match(source):
            raise ValueError(f"{source!r} is not a source name")
    return value


def frameworks_dir() -> Path:
    """The `reports/frameworks/` folder (one YAML file per framework)."""
    return repo_dir("reports") / "frameworks"


def framework_names(root: Path | None = None) -> list[str]:
    """Names of the frameworks on disk (file stems), sorted."""
    return sorted(p.stem for p in (root or frameworks_dir()).glob("*.yaml"))


def load_framework(name: str, root: Path | None = None) -> Framework:
    """One framework by name; ReportError naming the file and line when it is missing or invalid."""
    folder = root or frameworks_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(framework_names(folder)) or "none"
        raise ReportError(f"unknown framework {name!r} (known: {known})", where=str(folder))
    return parse_framework(path.read_text(encoding="utf-8"), path)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it: every Dagster run worker parses the frameworks at import."""


def load_frameworks(root: Path | None = None) -> dict[str, Framework]:
    """Every framework on disk by name."""
    return {name: load_framework(name, root) for name in framework_names(root)}


def parse_framework(text: str, path: Path) -> Framework:
    """Parse and validate one framework file's text; its `name` must equal the file stem."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ReportError(f"invalid YAML: {exc.problem or exc}", where=f"{path}:{line}") from exc
    if not isinstance(data, dict) or node is None:
        raise ReportError("a framework file must be a YAML mapping", where=f"{path}:1")
    try:
        framework = Framework.model_validate({**data, "path": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        dotted = ".".join(str(p) for p in loc)
        raise ReportError(f"{dotted}: {first['msg']}", where=f"{path}:{_line_of(node, loc)}") from exc
    if framework.name != path.stem:
        raise ReportError(f"name {framework.name!r} differs from the file name {path.stem!r}", where=f"{path}:1")
    return framework


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at a pydantic error location (the nearest found)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((value for key, value in node.value if key.value == str(part)), None)
            if found is not None:
                node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
    return node.start_mark.line + 1
