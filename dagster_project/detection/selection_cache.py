"""The default rule selection kept by the content of every rule file it reads: a run loads thousands of rules unparsed.

Compiled queries are cached per rule (`cache`), yet choosing the rules still parses every file: SigmaHQ's
2,700 Windows, cloud, web and Linux files take about ten seconds of YAML and pySigma on this machine, paid by
every spool batch and every hunt. The selection (each rule with its compiled query) is a pure function of
those files' text, the settings that pick among them (packs, lowest status), the compiler's fingerprint and
the index namespace, so it is kept under the SHA-256 of exactly those, as one JSON file under
`SIEM_HOME/cache/selections/`, written atomically. Any edited, added or removed rule file misses; an
unreadable entry is a miss too. Selections of single rules or paths (`siem detect --rule/--rules`) are not kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster_project.detection.cache import compiler_fingerprint, from_json, to_json
from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.rules import Logsource, Rule, RuleSource
from dagster_project.settings import RuleSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)

FORMAT = 1
"""Version of the entry layout; bump it when Rule changes shape."""
PATTERNS = ("*.yml", "*.yaml")

Selection = list[tuple[Rule, CompiledRule]]


def selections_dir(home: Path) -> Path:
    """Where selections are kept: SIEM_HOME/cache/selections."""
    return home / "cache" / "selections"


def selection_key(roots: Sequence[Path], settings: RuleSettings) -> str:
    """The key of the selection over `roots`: every rule file's path and text, the settings, the compiler."""
    digest = hashlib.sha256(f"format {FORMAT}\0{compiler_fingerprint()}\0{naming.prefix()}\0".encode())
    digest.update(f"{settings.packs}\0{settings.min_status}\0".encode())
    for root in roots:
        digest.update(f"root {root.resolve()}\0".encode())
        if not root.is_dir():
            continue  # a missing pack: the selection logs it, and its key differs once the folder appears
        for path in sorted({p for pattern in PATTERNS for p in root.rglob(pattern) if p.is_file()}):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "title": rule.title,
        "description": rule.description,
        "status": rule.status,
        "level": rule.level,
        "tags": list(rule.tags),
        "logsource": [rule.logsource.product, rule.logsource.service, rule.logsource.category],
        "path": str(rule.path),
        "line": rule.line,
        "correlation": rule.correlation,
        "references": list(rule.references),
        "sources": [[str(source.path), source.text] for source in rule.sources],
        "pack": rule.pack,
        "pack_path": rule.pack_path,
    }


def _rule_from_json(data: dict[str, Any]) -> Rule:
    return Rule(
        **{
            **data,
            "tags": tuple(data["tags"]),
            "logsource": Logsource(*data["logsource"]),
            "path": Path(data["path"]),
            "references": tuple(data["references"]),
            "sources": tuple(RuleSource(Path(path), text) for path, text in data["sources"]),
        }
    )


def load(key: str, home: Path) -> Selection | None:
    """The selection kept under `key`, or None when there is none (or it cannot be read)."""
    path = selections_dir(home) / f"{key}.json"
    try:
        entries = json.loads(path.read_text())
        return [(_rule_from_json(rule), from_json(compiled)) for rule, compiled in entries]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("rule selection cache entry %s is unreadable (%s): selecting again", path, exc)
        return None


def keep(key: str, selection: Selection, home: Path) -> None:
    """Store `selection` under `key` (atomically: a reader sees the old entry or the whole new one)."""
    folder = selections_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".entry-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump([[_rule_json(rule), to_json(compiled)] for rule, compiled in selection], out, separators=(",", ":"))
    os.replace(temporary, folder / f"{key}.json")
