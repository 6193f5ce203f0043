"""Detector coverage: which Sigma rules under `detectors/rules/` map to a control, by their tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster_project.detection.rules import rules_dir, scan_rules
from dagster_project.reports.model import RuleRef


@dataclass(frozen=True)
class RuleCatalog:
    """The rules that load, and the files that do not (as `where: message`)."""

    rules: tuple[RuleRef, ...]
    errors: tuple[str, ...] = ()


def load_catalog(root: Path | None = None) -> RuleCatalog:
    """Every rule under `root` (default `detectors/rules/`); a missing folder is an empty catalog."""
    folder = root or rules_dir()
    if not folder.is_dir():
        return RuleCatalog(rules=())
    ruleset = scan_rules(folder)
    refs = tuple(
        RuleRef(id=r.id, title=r.title, level=r.level, tags=r.tags, path=_relative(r.path, folder))
        for r in sorted(ruleset.rules, key=lambda r: str(r.path))
    )
    return RuleCatalog(rules=refs, errors=tuple(str(e) for e in ruleset.errors))


def rules_for(catalog: RuleCatalog, tags: Sequence[str], tag_prefix: str | None = None) -> tuple[RuleRef, ...]:
    """Rules carrying any of `tags` (case-insensitive) or a tag starting with `tag_prefix`."""
    wanted = {t.lower() for t in tags}
    prefix = tag_prefix.lower() if tag_prefix else None
    return tuple(
        rule
        for rule in catalog.rules
        if any(t.lower() in wanted or (prefix is not None and t.lower().startswith(prefix)) for t in rule.tags)
    )


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder.parent.parent))
    except ValueError:
        return str(path)
