"""The pySigma processing pipeline: Sigma field names to our ECS fields, and log source to index pattern.

Rules keep the field names that are conventional for their log source (CloudTrail's raw names,
Windows EventData names, W3C webserver names). Each source's spec declares the Sigma log sources it
feeds and the ECS field of each of their names (`SourceSpec.logsources`); this module routes rules to
them and builds the pipeline from them, so it lists no source of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sigma.exceptions import SigmaConfigurationError, SigmaTransformationError
from sigma.processing.conditions import IncludeFieldCondition, IsSigmaRuleCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation
from sigma.processing.transformations.base import DetectionItemTransformation, StringValueTransformation
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    Placeholder,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from dagster_project.errors import DetectionError
from dagster_project.sources.registry import specs
from dagster_project.sources.spec import SigmaLogsource
from dagster_project.storage import naming


@dataclass(frozen=True)
class LogsourceTarget:
    """A Sigma log source routed to the source whose events it searches (both declared by that source's spec)."""

    source: str
    """The source (`SourceSpec.name`) whose index family holds these events."""
    logsource: SigmaLogsource

    @property
    def name(self) -> str:
        """Short name; also the folder under `detectors/rules/` that holds the rules for this log source."""
        return self.logsource.name

    @property
    def fields(self) -> Mapping[str, str]:
        """Sigma field name -> ECS field name."""
        return self.logsource.fields

    @property
    def dataset(self) -> str | None:
        """`event.dataset` added as a condition where several datasets share one index."""
        return self.logsource.dataset

    @property
    def index(self) -> str:
        """Index pattern searched for rules of this log source (in the current index namespace)."""
        return naming.events_pattern(self.source)

    def matches(self, product: str | None, service: str | None, category: str | None) -> bool:
        """True when a rule's log source names this target (unset target attributes match anything)."""
        return self.logsource.matches(product, service, category)

    def condition(self) -> LogsourceCondition:
        """The pySigma rule condition selecting rules of this log source."""
        ls = self.logsource
        return LogsourceCondition(category=ls.category, product=ls.product, service=ls.service)


LOGSOURCES: Mapping[str, LogsourceTarget] = MappingProxyType(
    {logsource.name: LogsourceTarget(spec.name, logsource) for spec in specs() for logsource in spec.logsources}
)
"""Every Sigma log source the registered sources feed, by short name."""

CASE_INSENSITIVE_FIELDS: frozenset[str] = frozenset(
    {
        "process.executable",
        "process.command_line",
        "process.parent.executable",
        "process.parent.command_line",
        "winlog.event_data.OriginalFileName",
        "url.original",
        "url.path",
        "url.query",
        "user_agent.original",
        "http.request.referrer",
    }
)
"""ECS keyword fields matched in any letter case, as Sigma requires: they hold attacker-chosen text
(command lines, URLs, user agents) and our keyword mappings have no lowercase normalizer."""


def logsource_target(product: str | None, service: str | None, category: str | None) -> LogsourceTarget:
    """The one registered target for a rule's log source, or a DetectionError naming the log source."""
    found = [target for target in LOGSOURCES.values() if target.matches(product, service, category)]
    if len(found) != 1:
        described = f"product={product} service={service} category={category}"
        reason = "no index holds" if not found else "more than one target matches"
        raise DetectionError(f"{reason} log source {described}", where="detection.pipeline.LOGSOURCES")
    return found[0]


def _case_insensitive_char(char: str) -> str:
    if char.lower() != char.upper():
        return f"[{char.lower()}{char.upper()}]"
    if char.isalnum() or char == "/" or ord(char) > 127:
        # The backend escapes "/" itself, since it delimits Lucene regular expressions.
        return char
    return "\\" + char


@dataclass
class CaseInsensitiveRegexTransformation(StringValueTransformation):
    """Turn a string value into a Lucene regular expression matching it in any letter case.

    Unlike pySigma's RegexTransformation, every non-alphanumeric character is escaped, because
    Lucene's regular expressions give `@`, `<`, `>`, `"`, `#`, `&` and `~` a meaning of their own.
    """

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | list[SigmaType] | None:
        """Strings become regular expressions; an expansion (e.g. `windash`) becomes one alternation.

        The alternation keeps an expansion's values OR-linked whatever links the item's values, and
        sidesteps the Lucene backend, which cannot convert expansions of regular expressions.
        """
        if isinstance(val, SigmaExpansion):
            if not all(isinstance(value, SigmaString) and value.s for value in val.values):
                return None
            alternatives = "|".join(_regex(value) for value in val.values if isinstance(value, SigmaString))
            return SigmaRegularExpression(f"({alternatives})")
        return super().apply_value(field, val)

    def apply_string_value(self, field: str | None, val: SigmaString) -> SigmaType | None:
        """The value as a regular expression; empty strings are left as they are."""
        if not val.s:
            return None
        return SigmaRegularExpression(_regex(val))


def _regex(val: SigmaString) -> str:
    parts: list[str] = []
    for part in val.s:
        if isinstance(part, str):
            parts.append("".join(_case_insensitive_char(char) for char in part))
        elif part == SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        elif isinstance(part, Placeholder):
            raise SigmaConfigurationError(f"placeholder %{part.name}% must be resolved before matching")
    return "".join(parts)


@dataclass
class UnmappedFieldFailure(DetectionItemTransformation):
    """Fail on a detection item whose field has no ECS mapping (or that is a keyword search)."""

    logsource: str

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise a SigmaTransformationError naming the field and the log source."""
        if detection_item.field is None:
            message = f"keyword searches are not supported for log source {self.logsource}: use a field"
        else:
            message = f"field {detection_item.field!r} has no ECS mapping for log source {self.logsource}"
        raise SigmaTransformationError(message, source=detection_item.source)


def _mapping(fields: Mapping[str, str]) -> dict[str | None, str | list[str]]:
    return {name: ecs for name, ecs in fields.items()}


def processing_pipeline() -> ProcessingPipeline:
    """A fresh pipeline (pySigma pipelines keep state while applied, so never share one)."""
    items: list[ProcessingItem] = []
    for target in LOGSOURCES.values():
        items.append(
            ProcessingItem(
                FieldMappingTransformation(_mapping(target.fields)),
                rule_conditions=[target.condition()],
                identifier=f"{target.name}_ecs_fields",
            )
        )
        items.append(
            ProcessingItem(
                UnmappedFieldFailure(target.name),
                rule_conditions=[target.condition()],
                field_name_conditions=[IncludeFieldCondition(sorted(set(target.fields.values())))],
                field_name_condition_negation=True,
                identifier=f"{target.name}_unmapped_fields",
            )
        )
    items.append(
        ProcessingItem(
            CaseInsensitiveRegexTransformation(),
            field_name_conditions=[IncludeFieldCondition(sorted(CASE_INSENSITIVE_FIELDS))],
            identifier="case_insensitive_text",
        )
    )
    for target in LOGSOURCES.values():
        if target.dataset is not None:
            items.append(
                ProcessingItem(
                    AddConditionTransformation({"event.dataset": target.dataset}, name="_dataset"),
                    rule_conditions=[target.condition(), IsSigmaRuleCondition()],
                    rule_condition_linking=all,
                    identifier=f"{target.name}_dataset",
                )
            )
    return ProcessingPipeline(items=items, name=naming.SIGMA_PIPELINE)
