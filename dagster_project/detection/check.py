"""`siem rules check`: load and compile rules without a node, and say of every rule that will not run why.

Each rule that does not compile gets one reason class: a parse error, a log source no source collects
(named), a field without an ECS mapping (named), or a Sigma feature the backend or this suite does not
support (named by pySigma's message). Status is a run-time choice, so every rule given is checked
whatever its status, and the statuses are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagster_project.detection.compile import compile_rule
from dagster_project.detection.pipeline import LogsourceNotCollected, UnmappedFieldError
from dagster_project.detection.rules import Logsource, scan_rules
from dagster_project.errors import DetectionError

PARSE_ERROR = "parse error"
NOT_COLLECTED = "log source not collected"
UNMAPPED_FIELD = "field without mapping"
UNSUPPORTED = "unsupported Sigma feature"
REASONS = (PARSE_ERROR, NOT_COLLECTED, UNMAPPED_FIELD, UNSUPPORTED)
"""The reason classes, each a prefix of an unsupported rule's `reason`."""


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A rule that will not run and why (`reason` starts with one of REASONS)."""

    path: str
    id: str | None
    title: str | None
    reason: str


@dataclass
class Tally:
    """Rules and compiled rules of one log source."""

    rules: int = 0
    compiled: int = 0


@dataclass
class CheckReport:
    """What `siem rules check --json` prints; `compiled + len(unsupported) == rules`."""

    rules: int = 0
    compiled: int = 0
    unsupported: list[Unsupported] = field(default_factory=list)
    by_logsource: dict[str, Tally] = field(default_factory=dict)
    by_status: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        """The JSON object of the command's contract."""
        return {
            "rules": self.rules,
            "compiled": self.compiled,
            "unsupported": [
                {"path": u.path, "id": u.id, "title": u.title, "reason": u.reason} for u in self.unsupported
            ],
            "by_logsource": {
                key: {"rules": t.rules, "compiled": t.compiled} for key, t in sorted(self.by_logsource.items())
            },
            "by_status": dict(sorted(self.by_status.items())),
        }

    def reasons(self) -> Counter[str]:
        """Unsupported rules per reason class."""
        return Counter(next(r for r in REASONS if u.reason.startswith(r)) for u in self.unsupported)


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The `*.yml`/`*.yaml` files named or found under the given paths, sorted; DetectionError for a missing path."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found |= {p for pattern in ("*.yml", "*.yaml") for p in path.rglob(pattern) if p.is_file()}
        elif path.is_file():
            found.add(path)
        else:
            raise DetectionError("no such file or folder", where=str(path))
    return sorted(found)


def logsource_key(logsource: Logsource) -> str:
    """`<product>/<service or category>`, `*` where the rule leaves one open."""
    return f"{logsource.product or '*'}/{logsource.service or logsource.category or '*'}"


def _raw_header(path: Path) -> tuple[str | None, str | None, str | None, str]:
    """Id, title, status and log source key read straight from a file that did not load."""
    try:
        document = next(yaml.safe_load_all(path.read_text(encoding="utf-8")), None)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        document = None
    if not isinstance(document, dict):
        return None, None, None, "*/*"
    raw = document.get("logsource")
    ls = raw if isinstance(raw, dict) else {}
    key = logsource_key(Logsource(ls.get("product"), ls.get("service"), ls.get("category")))
    status = document.get("status")
    ident, title = document.get("id"), document.get("title")
    return (
        str(ident) if ident is not None else None,
        str(title) if title is not None else None,
        str(status) if status is not None else None,
        key,
    )


def classify(error: DetectionError) -> str:
    """The reason class of a rule's loading or compilation error."""
    if isinstance(error, LogsourceNotCollected):
        return NOT_COLLECTED
    if isinstance(error.__cause__, UnmappedFieldError):
        return UNMAPPED_FIELD
    return UNSUPPORTED


def _reason(kind: str, error: DetectionError) -> str:
    message = error.message
    return message if message.startswith(kind) else f"{kind}: {message}"


def check_rules(paths: Iterable[Path]) -> CheckReport:
    """Load and compile every rule under `paths` (pure: no node), tallying by log source and status."""
    files = rule_files(paths)
    ruleset = scan_rules(paths=files)
    report = CheckReport()
    loaded = {rule.path for rule in ruleset.rules}
    failed_paths: set[Path] = set()
    for error in ruleset.errors:
        where = (error.where or "").rsplit(":", 1)[0]
        path = Path(where)
        if path in loaded or path in failed_paths or path not in set(files):
            continue
        failed_paths.add(path)
        ident, title, status, key = _raw_header(path)
        kind = NOT_COLLECTED if isinstance(error, LogsourceNotCollected) else PARSE_ERROR
        report.unsupported.append(Unsupported(str(path), ident, title, _reason(kind, error)))
        report.by_logsource.setdefault(key, Tally()).rules += 1
        report.by_status[status or "unknown"] += 1
    for rule in ruleset.rules:
        tally = report.by_logsource.setdefault(logsource_key(rule.logsource), Tally())
        tally.rules += 1
        report.by_status[rule.status] += 1
        try:
            compile_rule(rule)
        except DetectionError as exc:
            report.unsupported.append(Unsupported(str(rule.path), rule.id, rule.title, _reason(classify(exc), exc)))
            continue
        tally.compiled += 1
        report.compiled += 1
    report.rules = report.compiled + len(report.unsupported)
    report.unsupported.sort(key=lambda u: u.path)
    return report
