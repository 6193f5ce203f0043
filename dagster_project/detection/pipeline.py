"""The pySigma processing pipeline: Sigma field names to our ECS fields, and log source to index pattern.

Rules keep the field names that are conventional for their log source (CloudTrail's raw names,
Windows EventData names, W3C webserver names). Each source's spec declares the Sigma log sources it
feeds and the ECS field of each of their names (`SourceSpec.logsources`); this module routes rules to
them and builds the pipeline from them, so it lists no source of its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from sigma.conditions import SigmaCondition
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConfigurationError, SigmaTransformationError
from sigma.pipelines.elasticsearch import pipelines as MAINTAINED_PIPELINES
from sigma.processing.conditions import (
    IncludeFieldCondition,
    IsSigmaRuleCondition,
    LogsourceCondition,
    RuleProcessingCondition,
)
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation
from sigma.processing.transformations.base import (
    ConditionTransformation,
    DetectionItemTransformation,
    StringValueTransformation,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from dagster_project.detection.hashes import EcsHashesTransformation
from dagster_project.errors import DetectionError
from dagster_project.sources.registry import specs
from dagster_project.sources.spec import SigmaLogsource
from dagster_project.storage import naming
from dagster_project.storage.artifacts import source_index_body


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
    def fields(self) -> Mapping[str, str | tuple[str, ...]]:
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
        "url.domain",
        "url.path",
        "url.extension",
        "url.query",
        "user_agent.original",
        "http.request.referrer",
    }
)
"""ECS keyword fields matched in any letter case, as Sigma requires: they hold attacker-chosen text
(command lines, URLs, user agents) and our keyword mappings have no lowercase normalizer."""


class LogsourceNotCollected(DetectionError):
    """A rule's log source is one no registered source collects (a reason a rule does not run, not a defect)."""


def logsource_target(product: str | None, service: str | None, category: str | None) -> LogsourceTarget:
    """The one registered target for a rule's log source; LogsourceNotCollected naming it when there is none."""
    found = [target for target in LOGSOURCES.values() if target.matches(product, service, category)]
    described = f"product={product} service={service} category={category}"
    if not found:
        raise LogsourceNotCollected(f"log source not collected: {described}", where="detection.pipeline.LOGSOURCES")
    if len(found) != 1:
        names = ", ".join(target.name for target in found)
        raise DetectionError(f"more than one target matches log source {described}: {names}", where=names)
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


_CLASSES = {"s": " \t\r\n", "d": "0-9", "w": "A-Za-z0-9_"}
"""Python's class shorthands, which Lucene's regular expressions lack, as class contents."""
_LUCENE_OPERATORS = set('@&~<>#"')
"""Characters Lucene's regular expressions give a meaning of their own (Python's take them literally)."""
_INLINE_IGNORECASE = "(?i)"


def _both_cases(char: str, in_class: bool) -> str:
    if char.lower() == char.upper():
        return char
    pair = f"{char.lower()}{char.upper()}"
    return pair if in_class else f"[{pair}]"


def _letter_range(start: str, rest: str) -> bool:
    """True when `start` + `rest` is a class range between two letters of one case (`a-z`, `A-F`)."""
    return (
        len(rest) == 2
        and rest[0] == "-"
        and start.isascii()
        and start.isalpha()
        and rest[1].isascii()
        and rest[1].isalpha()
        and start.islower() == rest[1].islower()
    )


def lucene_regex(pattern: str, ignore_case: bool = False) -> str:
    """A Python-style Sigma regular expression as a Lucene one that matches the same text.

    Lucene matches a regular expression against the whole value and has no `\\s`/`\\d`/`\\w`, no inline
    flags and no case-insensitive mode: unanchored ends get `.*`, shorthands become classes, `(?i)` and
    the `i` flag spell each letter in both cases, and Lucene's own operators are escaped.
    """
    if pattern.startswith(_INLINE_IGNORECASE):
        pattern, ignore_case = pattern[len(_INLINE_IGNORECASE) :], True
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            following = pattern[i + 1]
            i += 2
            lowered = following.lower()
            if lowered in _CLASSES:
                negated = following.isupper()
                body = _CLASSES[lowered]
                if in_class and not negated:
                    out.append(body)
                else:
                    out.append(f"[{'^' if negated else ''}{body}]")
            elif following == "/":
                out.append(following)  # the backend escapes `/`, Lucene's delimiter, itself
            elif following.isalnum() and following in "tnr":
                out.append({"t": "\t", "n": "\n", "r": "\r"}[following])
            elif ignore_case and following.isalpha():
                out.append(_both_cases(following, in_class))
            else:
                out.append("\\" + following)
            continue
        i += 1
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif char in _LUCENE_OPERATORS:
            out.append("\\" + char)
        elif ignore_case and in_class and _letter_range(char, pattern[i : i + 2]):
            end = pattern[i + 1]
            out.append(f"{char.lower()}-{end.lower()}{char.upper()}-{end.upper()}")  # [a-f] -> [a-fA-F]
            i += 2
        elif ignore_case:
            out.append(_both_cases(char, in_class))
        else:
            out.append(char)
    text = "".join(out)
    text = text[1:] if text.startswith("^") else ".*" + text
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]
    else:
        text += ".*"
    return text


@dataclass
class LuceneRegexTransformation(StringValueTransformation):
    """Rewrite each `|re` value into Lucene's regular-expression dialect (see `lucene_regex`)."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | list[SigmaType] | None:
        """Regular expressions are rewritten, their flags folded in; other values are left as they are."""
        if not isinstance(val, SigmaRegularExpression):
            return None
        ignore_case = SigmaRegularExpressionFlag.IGNORECASE in val.flags
        return _LuceneRegex(lucene_regex(str(val.regexp), ignore_case))

    def apply_string_value(self, field: str | None, val: SigmaString) -> SigmaType | None:
        """Plain strings are not regular expressions: unchanged."""
        return None


class _LuceneRegex(SigmaRegularExpression):
    """A regular expression already in Lucene's dialect: Python's `re` need not (and may not) accept it."""

    def compile(self) -> None:
        """Lucene validates it."""


class NestedValueError(SigmaTransformationError):
    """A value that a field inside an open object (`NestedFieldTransformation`) cannot be matched with."""


@dataclass
class NestedFieldTransformation(DetectionItemTransformation):
    """Search a rule field inside one of its log source's open objects on that object's `path=value` entries.

    `requestParameters.attribute: userData` becomes `<entries field>: attribute=userData`, with wildcards and
    modifiers kept (`|contains` is `attribute=*...*`, `|startswith` is `attribute=...*`), numbers and booleans as
    their JSON text, and regular expressions anchored after `attribute=`. The bare object (`requestParameters|
    contains: Suspended`) matches any of its entries unchanged: the value of some leaf (or its path) holds it.
    `null` (a path that is absent) has no entry to match and fails compilation, named.
    """

    nested: Mapping[str, str]

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Point the item at its object's entries field, its values prefixed with the path."""
        name = detection_item.field
        if name is None:
            return
        head, _, path = name.partition(".")
        target = self.nested.get(head)
        if target is None:
            return
        if path:
            detection_item.value = [_entry(path, value, detection_item) for value in detection_item.value]
        detection_item.field = target
        self.processing_item_applied(detection_item)


def _entry(path: str, value: SigmaType, item: SigmaDetectionItem) -> SigmaType:
    prefix = f"{path}="
    if isinstance(value, SigmaExpansion):
        return SigmaExpansion([_entry(path, v, item) for v in value.values])
    if isinstance(value, SigmaString):
        entry = copy.copy(value)
        escaped = prefix.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
        entry.s = (SigmaString(escaped) + value).s
        return entry
    if isinstance(value, SigmaBool):
        return SigmaString(prefix + ("true" if value.boolean else "false"))
    if isinstance(value, SigmaNumber):
        return SigmaString(prefix + str(value))
    if isinstance(value, SigmaRegularExpression):
        pattern = str(value.regexp)
        flags = ""
        if pattern.startswith("(?i)"):
            pattern, flags = pattern[4:], "(?i)"
        body = pattern[1:] if pattern.startswith("^") else ".*" + pattern
        return SigmaRegularExpression(f"{flags}^{re.escape(prefix)}{body}", value.flags)
    raise NestedValueError(
        f"field {item.field!r} is inside an object searched by its path=value entries, "
        f"which cannot match {type(value).__name__}",
        source=item.source,
    )


class UnmappedFieldError(SigmaTransformationError):
    """A rule's field (or keyword search) that its log source has no ECS field for."""


@dataclass
class UnmappedFieldFailure(DetectionItemTransformation):
    """Fail on a detection item whose field has no ECS mapping (keyword searches are bound before it)."""

    logsource: str

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise an UnmappedFieldError naming the field and the log source."""
        message = f"field {detection_item.field!r} has no ECS mapping for log source {self.logsource}"
        raise UnmappedFieldError(message, source=detection_item.source)


@dataclass
class KeywordFieldTransformation(DetectionItemTransformation):
    """Bind a keyword search (values without a field) to the field its log source keeps free text in.

    Unbound, the Lucene backend writes `*value*` with no field, which the node expands over every field
    of the index (`index.query.default_field`): an automaton per value and field, enough for one keyword
    list to exhaust a small heap. Bound, a keyword is the same substring match on one field: strings get
    the `*...*` the backend would have added, numbers become such strings, regular expressions stay.
    Without a field (`keywords` unset) a keyword search fails compilation with its log source named.
    """

    logsource: str
    field: str | None

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Give a field-less item the keyword field and contains-semantics values."""
        if detection_item.field is not None:
            return
        if self.field is None:
            raise UnmappedFieldError(
                f"keyword searches are not supported for log source {self.logsource}: use a field",
                source=detection_item.source,
            )
        detection_item.field = self.field
        detection_item.value = [_contains(value) for value in detection_item.value]
        self.processing_item_applied(detection_item)


def _contains(value: SigmaType) -> SigmaType:
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value))
    if isinstance(value, SigmaExpansion):
        return SigmaExpansion([_contains(item) for item in value.values])
    if not isinstance(value, SigmaString):
        return value
    if not value.startswith(SpecialChars.WILDCARD_MULTI):
        value = SpecialChars.WILDCARD_MULTI + value
    if not value.endswith(SpecialChars.WILDCARD_MULTI):
        value = value + SpecialChars.WILDCARD_MULTI
    return value


def _mapped_fields(target: LogsourceTarget) -> set[str]:
    """The ECS fields a log source's rules may search: its mapped fields, its entries fields and its keyword field."""
    keywords = target.logsource.keywords
    mapped = {name for ecs in target.fields.values() for name in ((ecs,) if isinstance(ecs, str) else ecs)}
    return mapped | set(target.logsource.nested.values()) | ({keywords} if keywords else set())


def _mapping(fields: Mapping[str, str | tuple[str, ...]]) -> dict[str | None, str | list[str]]:
    return {name: ecs if isinstance(ecs, str) else list(ecs) for name, ecs in fields.items()}


CASELESS = "caseless"
"""The sub-field (a keyword with a lowercase normalizer, `index_templates/`) that Sigma's string matches search."""


@dataclass(frozen=True)
class CaselessFields:
    """Which fields of a source's index have a `caseless` sub-field, as its index template declares them."""

    explicit: frozenset[str]
    """Mapped fields with the sub-field."""
    mapped: frozenset[str]
    """Every mapped leaf field (with or without it)."""
    dynamic: bool
    """True when strings the template does not map get the sub-field (its `strings_as_keyword` template)."""

    def has(self, name: str) -> bool:
        """True when `name` has the sub-field."""
        return name in self.explicit or (self.dynamic and name not in self.mapped)


def _leaves(properties: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        if "properties" in spec:
            yield from _leaves(spec["properties"], f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


@cache
def caseless_fields(source: str, namespace: str) -> CaselessFields:
    """The caseless fields of a source's index (cached per namespace: templates are read from their files)."""
    mappings = source_index_body(source)["mappings"]
    leaves = dict(_leaves(mappings.get("properties", {})))
    explicit = frozenset(name for name, spec in leaves.items() if CASELESS in spec.get("fields", {}))
    dynamic = any(
        CASELESS in template.get("mapping", {}).get("fields", {})
        for entry in mappings.get("dynamic_templates", [])
        for template in entry.values()
        if template.get("match_mapping_type") == "string" and "path_match" not in template
    )
    return CaselessFields(explicit, frozenset(leaves), dynamic)


@dataclass
class CaselessFieldTransformation(DetectionItemTransformation):
    """Point string matches at the field's `caseless` sub-field; regular expressions and `|cased` at the field.

    The sub-field's normalizer lowercases terms, wildcards and prefixes in the query as in the index, so
    the Lucene backend's `query_string` matches in any letter case without rewriting values.
    """

    fields: CaselessFields

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Rename the item's field to or from its sub-field."""
        name = detection_item.field
        if name is None:
            return
        suffix = f".{CASELESS}"
        base = name.removesuffix(suffix)
        caseless = bool(detection_item.value) and all(_caseless_value(value) for value in detection_item.value)
        wanted = f"{base}{suffix}" if caseless and self.fields.has(base) else base
        if wanted != name:
            detection_item.field = wanted
            self.processing_item_applied(detection_item)


def _caseless_value(value: SigmaType) -> bool:
    if isinstance(value, SigmaExpansion):
        return all(_caseless_value(item) for item in value.values)
    return isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString)


@dataclass
class SelectTransformation(ConditionTransformation):
    """Narrow a rule to the events meeting any one of `selects` (each an all-of field -> values mapping)."""

    selects: tuple[Mapping[str, tuple[str, ...]], ...]
    name: str = "_logsource"

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Add the detection, then wrap every condition in it."""
        if isinstance(rule, SigmaRule):
            definition: Any = [{field: list(values) for field, values in select.items()} for select in self.selects]
            rule.detection.detections[self.name] = SigmaDetection.from_definition(definition)
            self.processing_item_applied(rule.detection.detections[self.name])
            super().apply(rule)

    def apply_condition(self, cond: SigmaCondition) -> None:
        """`_logsource and (condition)`."""
        cond.condition = f"{self.name} and ({cond.condition})" if cond.condition else self.name


def _maintained(name: str) -> ProcessingPipeline:
    factory = MAINTAINED_PIPELINES.get(name)
    if factory is None:
        raise DetectionError(f"no pySigma pipeline {name!r} (known: {', '.join(MAINTAINED_PIPELINES)})", where=name)
    return factory()


def processing_pipeline() -> ProcessingPipeline:
    """A fresh pipeline (pySigma pipelines keep state while applied, so never share one).

    In order: each log source's own field names, its open objects' fields (`nested`) and hash fields (`hashes`),
    the maintained pipelines some log sources use (their own log-source conditions select their rules), the
    unmapped-field failure of the others, the `caseless` sub-fields, case-insensitive regular expressions where
    there are none, and the narrowing of a rule to its log source's events.
    """
    items: list[ProcessingItem] = []
    targets = list(LOGSOURCES.values())
    maintained = sorted({t.logsource.pipeline for t in targets if t.logsource.pipeline is not None})
    for target in targets:
        if target.fields:
            items.append(
                ProcessingItem(
                    FieldMappingTransformation(_mapping(target.fields)),
                    rule_conditions=[target.condition()],
                    identifier=f"{target.name}_ecs_fields",
                )
            )
        if target.logsource.nested:
            items.append(
                ProcessingItem(
                    NestedFieldTransformation(target.logsource.nested),
                    rule_conditions=[target.condition()],
                    identifier=f"{target.name}_nested_fields",
                )
            )
        if target.logsource.hashes is not None:
            items.append(
                ProcessingItem(
                    EcsHashesTransformation(target=target.logsource.hashes),
                    rule_conditions=[target.condition()],
                    identifier=f"{target.name}_hashes",
                )
            )
    before = ProcessingPipeline(items=items, name=naming.SIGMA_PIPELINE)
    items = [
        ProcessingItem(
            KeywordFieldTransformation(target.name, target.logsource.keywords),
            rule_conditions=[target.condition()],
            identifier=f"{target.name}_keywords",
        )
        for target in targets
    ]
    for target in targets:
        if target.logsource.pipeline is None:
            items.append(
                ProcessingItem(
                    UnmappedFieldFailure(target.name),
                    rule_conditions=[target.condition()],
                    field_name_conditions=[IncludeFieldCondition(sorted(_mapped_fields(target)))],
                    field_name_condition_negation=True,
                    identifier=f"{target.name}_unmapped_fields",
                )
            )
    namespace = naming.prefix()
    for source in sorted({target.source for target in targets}):
        fields = caseless_fields(source, namespace)
        if fields.explicit or fields.dynamic:
            conditions: list[RuleProcessingCondition] = [t.condition() for t in targets if t.source == source]
            items.append(
                ProcessingItem(
                    CaselessFieldTransformation(fields),
                    rule_conditions=conditions,
                    rule_condition_linking=any,
                    identifier=f"{source}_caseless",
                )
            )
    items.append(ProcessingItem(LuceneRegexTransformation(), identifier="lucene_regex"))
    items.append(
        ProcessingItem(
            CaseInsensitiveRegexTransformation(),
            field_name_conditions=[IncludeFieldCondition(sorted(CASE_INSENSITIVE_FIELDS))],
            identifier="case_insensitive_text",
        )
    )
    for target in targets:
        if target.dataset is not None:
            items.append(
                ProcessingItem(
                    AddConditionTransformation({"event.dataset": target.dataset}, name="_dataset"),
                    rule_conditions=[target.condition(), IsSigmaRuleCondition()],
                    rule_condition_linking=all,
                    identifier=f"{target.name}_dataset",
                )
            )
        if target.logsource.selects:
            items.append(
                ProcessingItem(
                    SelectTransformation(target.logsource.selects),
                    rule_conditions=[target.condition(), IsSigmaRuleCondition()],
                    rule_condition_linking=all,
                    identifier=f"{target.name}_selects",
                )
            )
    after = ProcessingPipeline(items=items, name=naming.SIGMA_PIPELINE)
    combined = sum((_maintained(name) for name in maintained), before) + after
    combined.name = naming.SIGMA_PIPELINE
    return combined
