"""Compiled rules cached by content, so compiling a pack is paid once per pack content and not on every run.

pySigma takes tens of milliseconds per rule, minutes for SigmaHQ's Windows rules; a hunt or a sensor tick
that recompiled them would spend longer compiling than searching. A rule's entry is keyed by the SHA-256 of
the text of every file the rule is built from, the compiler's own fingerprint and the index namespace; the
fingerprint covers the detection and source modules (field mappings and routing live there) and the pySigma
packages' versions, so any change to what compiling depends on misses the cache instead of serving a stale
query. Entries are JSON files under `SIEM_HOME/cache/compiled/`, written atomically; an unreadable entry is
compiled again. Compilation stays pure: this module only remembers its results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from dagster_project.detection.compile import CompiledRule, Correlation, CorrelationRef, compile_rule
from dagster_project.detection.rules import Rule
from dagster_project.settings import NodeSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)

FORMAT = 1
"""Version of the entry layout; bump it when CompiledRule changes shape."""
_PACKAGES = ("pySigma", "pySigma-backend-opensearch", "pySigma-backend-elasticsearch")
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_COMPILER_MODULES = ("detection", "sources")
"""Packages whose code decides what a rule compiles to (the compiler, the pipeline, the sources' field maps)."""

Compiler = Callable[[Rule], CompiledRule]


def cache_dir(home: Path | None = None) -> Path:
    """Where compiled rules are kept: SIEM_HOME/cache/compiled."""
    return (home or NodeSettings().home) / "cache" / "compiled"


@cache
def compiler_fingerprint() -> str:
    """A hash of everything besides the rule that decides its compiled form (code and library versions)."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for package in _PACKAGES:
        try:
            digest.update(f"{package} {metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent\n".encode())
    for folder in _COMPILER_MODULES:
        for path in sorted((_PACKAGE_ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(_PACKAGE_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def rule_key(rule: Rule, compiler: Compiler = compile_rule) -> str:
    """The cache key of one rule: its sources' text, the compiler and the index namespace (not where it lies)."""
    digest = hashlib.sha256(compiler_fingerprint().encode())
    name = getattr(compiler, "__qualname__", type(compiler).__qualname__)
    digest.update(f"\0{compiler.__module__}.{name}\0{naming.prefix()}\0".encode())
    for source in rule.sources:
        digest.update(source.text.encode() + b"\0")
    return digest.hexdigest()


def to_json(compiled: CompiledRule) -> dict[str, Any]:
    """A CompiledRule as plain JSON data."""
    return asdict(compiled)


def from_json(data: dict[str, Any]) -> CompiledRule:
    """The CompiledRule `to_json` wrote."""
    correlation = data.get("correlation")
    if correlation is not None:
        refs = tuple(CorrelationRef(**ref) for ref in correlation["refs"])
        correlation = Correlation(**{**correlation, "group_by": tuple(correlation["group_by"]), "refs": refs})
    return CompiledRule(**{**data, "fields": tuple(data["fields"]), "correlation": correlation})


def _read(path: Path) -> CompiledRule | None:
    try:
        return from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("compiled-rule cache entry %s is unreadable (%s): compiling again", path, exc)
        return None


def _write(path: Path, compiled: CompiledRule) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump(to_json(compiled), out, separators=(",", ":"))
    os.replace(temporary, path)


def compiled(rules: Sequence[Rule], compiler: Compiler = compile_rule, home: Path | None = None) -> list[CompiledRule]:
    """Every rule compiled, in order: from the cache where its content was compiled before, else now (and kept).

    A rule that does not compile raises its DetectionError, as `compiler` does; failures are not cached.
    """
    folder = cache_dir(home)
    results: list[CompiledRule] = []
    misses = 0
    for rule in rules:
        path = _entry(rule, compiler, folder)
        found = _read(path)
        if found is None:
            misses += 1
            found = _compile_and_keep(rule, compiler, path)
        results.append(found)
    if misses:
        log.info("compiled %d of %d rules (the rest from %s)", misses, len(rules), folder)
    return results


def compiled_rule(rule: Rule, compiler: Compiler = compile_rule, home: Path | None = None) -> CompiledRule:
    """One rule compiled, from the cache where its content was compiled before; raises as `compiler` does."""
    path = _entry(rule, compiler, cache_dir(home))
    return _read(path) or _compile_and_keep(rule, compiler, path)


def _entry(rule: Rule, compiler: Compiler, folder: Path) -> Path:
    key = rule_key(rule, compiler)
    return folder / key[:2] / f"{key}.json"


def _compile_and_keep(rule: Rule, compiler: Compiler, path: Path) -> CompiledRule:
    found = compiler(rule)
    _write(path, found)
    return found
