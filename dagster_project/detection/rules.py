"""Sigma rule files loaded into an immutable model; every error names the file and line.

A rule file holds one rule. A correlation rule may bring the base rules it references as further
YAML documents of the same file; the file's rule is then the one document that no other document
in the file references. Correlations may also reference rules of other files by `name`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from dagster_project.detection.pipeline import LogsourceTarget, logsource_target
from dagster_project.errors import DetectionError
from dagster_project.paths import repo_dir

SigmaObject = SigmaRule | SigmaCorrelationRule

SIGMA_LEVELS = ("informational", "low", "medium", "high", "critical")
"""The Sigma specification's rule levels, lowest first (every other module imports them from here)."""


def rules_dir() -> Path:
    """The `detectors/rules/` folder (the only copy of the rules)."""
    return repo_dir("detectors") / "rules"


@dataclass(frozen=True, slots=True)
class Logsource:
    """A Sigma log source: which events a rule looks at."""

    product: str | None
    service: str | None
    category: str | None

    def target(self) -> LogsourceTarget:
        """Where these events are stored and how their fields are named (DetectionError if unknown)."""
        return logsource_target(self.product, self.service, self.category)

    def __str__(self) -> str:
        parts = (("product", self.product), ("service", self.service), ("category", self.category))
        return ", ".join(f"{key}: {value}" for key, value in parts if value is not None)


@dataclass(frozen=True, slots=True)
class RuleSource:
    """The text of one rule file, kept so that compiling never depends on the file system."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule: a Sigma rule, or a correlation rule with the rules it references."""

    id: str
    name: str | None
    title: str
    description: str
    status: str
    level: str
    """One of SIGMA_LEVELS."""
    tags: tuple[str, ...]
    logsource: Logsource
    path: Path
    line: int
    """Line of the rule's YAML document in `path`."""
    correlation: str | None
    """The correlation type (`event_count`, `temporal_ordered`, ...), or None for a plain Sigma rule."""
    references: tuple[str, ...]
    """Names of the rules a correlation references, in its order; empty for a plain rule."""
    sources: tuple[RuleSource, ...]
    """This file and every file holding a rule it references, directly or through another correlation."""
    pack: str = "curated"
    """The rule pack it came from: `curated` (`detectors/rules/`) or a pack folder's name (SIEM_RULE_PACKS)."""
    pack_path: str = ""
    """Its path inside the pack's folder (`windows/process_creation/proc_creation_win_x.yml`)."""

    @property
    def where(self) -> str:
        """`path:line`, as errors about this rule report it."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules that loaded and the errors of those that did not."""

    rules: tuple[Rule, ...]
    errors: tuple[DetectionError, ...]


@dataclass(frozen=True, slots=True)
class _Document:
    line: int
    sigma: SigmaObject


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it: the pure-Python one spends a minute on SigmaHQ's 2,700 files."""


class _RuleLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe YAML loader that rejects duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml_documents(source: RuleSource) -> list[tuple[int, Any]]:
    loader = _RuleLoader(source.text)
    documents: list[tuple[int, Any]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said there is one
            documents.append((node.start_mark.line + 1, loader.construct_document(node)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise DetectionError(f"invalid YAML: {exc.problem or exc}", where=f"{source.path}:{line}") from exc
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    return documents


def parse_sigma(source: RuleSource) -> list[tuple[int, SigmaObject]]:
    """The Sigma rules of one file with the line of each; DetectionError (file and line) if invalid."""
    parsed: list[tuple[int, SigmaObject]] = []
    for line, data in _yaml_documents(source):
        where = f"{source.path}:{line}"
        if not isinstance(data, dict):
            raise DetectionError("a rule document must be a YAML mapping", where=where)
        location = SigmaRuleLocation(source.path, line)
        try:
            sigma: SigmaObject
            if "correlation" in data:
                sigma = SigmaCorrelationRule.from_dict(data, source=location)
            else:
                sigma = SigmaRule.from_dict(data, source=location)
        except SigmaError as exc:
            raise DetectionError(_sigma_message(exc), where=where) from exc
        parsed.append((line, sigma))
    if not parsed:
        raise DetectionError("no rule in file", where=f"{source.path}:1")
    return parsed


def _sigma_message(exc: SigmaError) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _top_document(path: Path, documents: list[_Document]) -> _Document:
    referenced = {
        ref.reference
        for doc in documents
        if isinstance(doc.sigma, SigmaCorrelationRule)
        for ref in doc.sigma.rules or []
    }
    unreferenced = [doc for doc in documents if doc.sigma.name not in referenced]
    if len(unreferenced) != 1:
        listed = ", ".join(str(doc.line) for doc in unreferenced) or "none"
        raise DetectionError(
            "a file holds exactly one rule plus the base rules its correlation references; "
            f"documents referenced by no other document start at lines {listed}",
            where=f"{path}:{documents[0].line}",
        )
    return unreferenced[0]


def _check_metadata(path: Path, doc: _Document, top: bool) -> None:
    where = f"{path}:{doc.line}"
    if doc.sigma.id is None:
        raise DetectionError("rule has no id (write a UUID once and keep it)", where=where)
    if not doc.sigma.title:
        raise DetectionError("rule has no title", where=where)
    if isinstance(doc.sigma, SigmaCorrelationRule) and not doc.sigma.name:
        raise DetectionError("a correlation rule needs a name", where=where)
    if top:
        if doc.sigma.status is None:
            raise DetectionError("rule has no status", where=where)
        if doc.sigma.level is None:
            raise DetectionError("rule has no level", where=where)
        if not doc.sigma.description:
            raise DetectionError("rule has no description", where=where)


@dataclass(frozen=True, slots=True)
class _File:
    source: RuleSource
    documents: tuple[_Document, ...]
    top: _Document


def _read_file(path: Path) -> _File:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectionError(f"unreadable rule file: {exc}", where=str(path)) from exc
    source = RuleSource(path, text)
    documents = [_Document(line, sigma) for line, sigma in parse_sigma(source)]
    top = _top_document(path, documents)
    for doc in documents:
        _check_metadata(path, doc, doc is top)
    return _File(source, tuple(documents), top)


def _logsources(name: str, by_name: Mapping[str, tuple[_File, _Document]], seen: set[str]) -> set[Logsource]:
    if name in seen:
        raise DetectionError(f"correlation cycle through {name!r}", where=str(by_name[name][0].source.path))
    _, doc = by_name[name]
    if isinstance(doc.sigma, SigmaRule):
        ls = doc.sigma.logsource
        return {Logsource(ls.product, ls.service, ls.category)}
    found: set[Logsource] = set()
    for ref in doc.sigma.rules or []:
        found |= _logsources(ref.reference, by_name, seen | {name})
    return found


def _dependencies(doc: _Document, by_name: Mapping[str, tuple[_File, _Document]], where: str) -> list[Path]:
    paths: list[Path] = []
    pending = [doc]
    visited: set[str] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current.sigma, SigmaCorrelationRule):
            continue
        for ref in current.sigma.rules or []:
            if ref.reference not in by_name:
                raise DetectionError(f"correlation references unknown rule {ref.reference!r}", where=where)
            if ref.reference in visited:
                continue
            visited.add(ref.reference)
            ref_file, ref_doc = by_name[ref.reference]
            if ref_file.source.path not in paths:
                paths.append(ref_file.source.path)
            pending.append(ref_doc)
    return paths


def _build_rule(file: _File, by_name: Mapping[str, tuple[_File, _Document]], files: Mapping[Path, _File]) -> Rule:
    top = file.top
    sigma = top.sigma
    where = f"{file.source.path}:{top.line}"
    dependency_paths = _dependencies(top, by_name, where)
    if isinstance(sigma, SigmaCorrelationRule):
        assert sigma.name is not None
        logsources = _logsources(sigma.name, by_name, set())
        if len(logsources) != 1:
            listed = "; ".join(sorted(map(str, logsources)))
            raise DetectionError(f"correlated rules must share one log source, found: {listed}", where=where)
        (logsource,) = logsources
        correlation: str | None = str(sigma.type)
        references = tuple(ref.reference for ref in sigma.rules or [])
    else:
        ls = sigma.logsource
        logsource = Logsource(ls.product, ls.service, ls.category)
        correlation = None
        references = ()
    try:
        logsource.target()
    except DetectionError as exc:
        raise type(exc)(exc.message, where=where) from exc
    sources = [file.source] + [files[path].source for path in dependency_paths if path != file.source.path]
    assert sigma.status is not None and sigma.level is not None
    return Rule(
        id=str(sigma.id),
        name=sigma.name,
        title=sigma.title,
        description=" ".join((sigma.description or "").split()),
        status=str(sigma.status),
        level=str(sigma.level),
        tags=tuple(str(tag) for tag in sigma.tags),
        logsource=logsource,
        path=file.source.path,
        line=top.line,
        correlation=correlation,
        references=references,
        sources=tuple(sources),
    )


def scan_rules(root: Path | None = None, paths: Iterable[Path] | None = None) -> RuleSet:
    """Load every `*.yml` under `root` (or the given files), collecting errors instead of stopping."""
    folder = root or rules_dir()
    candidates = sorted(paths if paths is not None else folder.rglob("*.yml"))
    errors: list[DetectionError] = []
    files: dict[Path, _File] = {}
    for path in candidates:
        try:
            files[path] = _read_file(path)
        except DetectionError as exc:
            errors.append(exc)

    by_name: dict[str, tuple[_File, _Document]] = {}
    by_id: dict[str, str] = {}
    for file in files.values():
        for doc in file.documents:
            where = f"{file.source.path}:{doc.line}"
            rule_id = str(doc.sigma.id)
            if rule_id in by_id:
                errors.append(DetectionError(f"id {rule_id} is also used at {by_id[rule_id]}", where=where))
            by_id.setdefault(rule_id, where)
            name = doc.sigma.name
            if name:
                if name in by_name:
                    first = by_name[name]
                    other = f"{first[0].source.path}:{first[1].line}"
                    errors.append(DetectionError(f"name {name!r} is also used at {other}", where=where))
                by_name.setdefault(name, (file, doc))

    rules: list[Rule] = []
    for file in files.values():
        try:
            rules.append(_build_rule(file, by_name, files))
        except DetectionError as exc:
            errors.append(exc)
    return RuleSet(tuple(rules), tuple(errors))


CURATED = "curated"
"""The pack name of the suite's own rules (`detectors/rules/`)."""


def in_pack(ruleset: RuleSet, root: Path, pack: str) -> RuleSet:
    """The rule set with each rule's pack and its path inside the pack's folder set."""

    def placed(rule: Rule) -> Rule:
        inside = rule.path.relative_to(root) if rule.path.is_relative_to(root) else Path(rule.path.name)
        return replace(rule, pack=pack, pack_path=inside.as_posix())

    return RuleSet(tuple(placed(rule) for rule in ruleset.rules), ruleset.errors)


def scan_pack(path: Path, pack: str | None = None) -> RuleSet:
    """The rules of a pack folder (any layout) or one rule file, collecting errors; named after the folder."""
    if path.is_file():
        return in_pack(scan_rules(paths=[path]), path.parent, pack or path.parent.name)
    if not path.is_dir():
        return RuleSet((), (DetectionError("no such rule pack folder or rule file", where=str(path)),))
    files = sorted({p for pattern in ("*.yml", "*.yaml") for p in path.rglob(pattern) if p.is_file()})
    return in_pack(scan_rules(path, paths=files), path, pack or path.name)


def load_rules(root: Path | None = None) -> tuple[Rule, ...]:
    """All rules under `root` (default `detectors/rules/`), sorted by path; the first error is raised."""
    folder = root or rules_dir()
    ruleset = in_pack(scan_rules(folder), folder, CURATED if root is None else folder.name)
    if ruleset.errors:
        raise ruleset.errors[0]
    return ruleset.rules


def resolved_collection(rule: Rule) -> tuple[SigmaCollection, SigmaObject]:
    """A fresh pySigma collection of the rule's sources, references resolved, and the rule within it."""
    objects: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = [
        sigma for source in rule.sources for _, sigma in parse_sigma(source)
    ]
    try:
        collection = SigmaCollection(objects)
    except SigmaError as exc:
        raise DetectionError(_sigma_message(exc), where=rule.where) from exc
    for sigma in collection.rules:
        if str(sigma.id) == rule.id:
            return collection, sigma
    raise DetectionError(f"rule {rule.id} not found in its own sources", where=rule.where)
