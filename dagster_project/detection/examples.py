"""The example events shipped beside each rule: `detectors/examples/<rule path>.examples.yml`.

An examples file has a `match` and a `no_match` list of ECS documents. For a correlation rule each
item is itself a list of documents (a burst or a sequence), judged as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dagster_project.detection.rules import Rule, rules_dir
from dagster_project.errors import DetectionError
from dagster_project.paths import repo_dir

SUFFIX = ".examples.yml"


def examples_dir() -> Path:
    """The `detectors/examples/` folder."""
    return repo_dir("detectors") / "examples"


def examples_path(rule: Rule, rules_root: Path | None = None, examples_root: Path | None = None) -> Path:
    """Where a rule's examples live: the rule's path under `rules/`, under `examples/`, `.examples.yml`."""
    relative = rule.path.relative_to(rules_root or rules_dir())
    return (examples_root or examples_dir()) / relative.parent / (relative.stem + SUFFIX)


@dataclass(frozen=True, slots=True)
class Example:
    """One example: a single event, or for a correlation the events that together form it."""

    expected: bool
    """True for a `match` example, False for a `no_match` one."""
    position: int
    """Index in its list, for messages (`match[0]`)."""
    documents: tuple[dict[str, Any], ...]

    @property
    def label(self) -> str:
        """`match[0]` or `no_match[2]`."""
        return f"{'match' if self.expected else 'no_match'}[{self.position}]"


@dataclass(frozen=True, slots=True)
class RuleExamples:
    """The examples of one rule."""

    path: Path
    match: tuple[Example, ...]
    no_match: tuple[Example, ...]

    @property
    def all(self) -> tuple[Example, ...]:
        """Match examples first, then no_match ones."""
        return self.match + self.no_match


def _documents(path: Path, label: str, item: Any, grouped: bool) -> tuple[dict[str, Any], ...]:
    documents = item if grouped else [item]
    if grouped and not isinstance(item, list):
        raise DetectionError(f"{label}: a correlation example is a list of events", where=str(path))
    if not documents or not all(isinstance(doc, dict) for doc in documents):
        raise DetectionError(f"{label}: an event is a mapping of ECS fields", where=str(path))
    for doc in documents:
        if "@timestamp" not in doc:
            raise DetectionError(f"{label}: event without @timestamp", where=str(path))
        if any("." in key for key in doc if key != "@timestamp"):
            raise DetectionError(f"{label}: use nested objects, not dotted keys", where=str(path))
    return tuple(documents)


def load_examples(rule: Rule, rules_root: Path | None = None, examples_root: Path | None = None) -> RuleExamples:
    """A rule's examples; DetectionError naming the file if it is missing or malformed."""
    path = examples_path(rule, rules_root, examples_root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DetectionError(f"examples file missing for rule {rule.id}", where=str(path)) from exc
    except yaml.YAMLError as exc:
        raise DetectionError(f"invalid YAML: {exc}", where=str(path)) from exc
    if not isinstance(data, dict) or set(data) - {"match", "no_match"}:
        raise DetectionError("an examples file has only `match` and `no_match` lists", where=str(path))
    grouped = rule.correlation is not None
    lists: dict[str, tuple[Example, ...]] = {}
    for key in ("match", "no_match"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise DetectionError(f"`{key}` must be a list", where=str(path))
        lists[key] = tuple(
            Example(key == "match", i, _documents(path, f"{key}[{i}]", item, grouped)) for i, item in enumerate(items)
        )
    return RuleExamples(path, lists["match"], lists["no_match"])
