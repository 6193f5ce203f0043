"""Rule test cases in SigmaHQ's regression layout, run against the real node: `siem rules test`.

A case is a folder holding one Sigma rule `rule.yml`, its event files (`.evtx`, evtx_dump `.json`/`.jsonl`,
or the source's own format) and optionally `info.yml`, whose `regression_tests_info[].match_count` say
how many events the rule must match. The events are parsed by the source the rule's log source routes
to, indexed into a scratch index made from that source's index template (settings and mappings, no
alias, so no hunt sees them), the compiled rule's query is counted there exactly as hunts run it, and
the index is deleted. `ok` follows SigmaHQ's regression runner: at least `match_count` matches where
one is given, at least one where `info.yml` gives none, and no verdict (None) without `info.yml`.
Blocking.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import TransportError

from dagster_project.detection.compile import compile_rule
from dagster_project.detection.rules import Rule, scan_rules
from dagster_project.errors import DetectionError, SiemError
from dagster_project.ingest.ids import event_id
from dagster_project.ingest.inputs import expand_paths
from dagster_project.ingest.streams import FileStream
from dagster_project.sources.base import Event
from dagster_project.sources.registry import parser_factory
from dagster_project.storage import naming
from dagster_project.storage.artifacts import source_index_body

log = logging.getLogger(__name__)

RULE_FILE = "rule.yml"
INFO_FILE = "info.yml"
EVENT_SUFFIXES = (".evtx", ".json", ".jsonl", ".log", ".txt")
"""Event files a case may hold (also compressed); `.evtx` files, when present, are the case's events."""
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


@dataclass(frozen=True, slots=True)
class RuleCase:
    """One case folder: its rule, its event files and what `info.yml` expects."""

    folder: Path
    events: tuple[Path, ...]
    has_info: bool
    expected: int | None
    """The sum of `match_count` over `regression_tests_info`; None when no entry gives one."""

    @property
    def name(self) -> str:
        """The folder's name, as results report the case."""
        return self.folder.name

    @property
    def rule_path(self) -> Path:
        """The case's `rule.yml`."""
        return self.folder / RULE_FILE


@dataclass(slots=True)
class CaseResult:
    """The outcome of one case, as `siem rules test --json` prints it."""

    case: str
    rule: str | None
    events: int
    matched: int
    expected: int | None
    ok: bool | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The case object of the JSON output."""
        return asdict(self)


def _event_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    return Path(name).suffix


def _expected(info: Path) -> tuple[bool, int | None]:
    if not info.is_file():
        return False, None
    try:
        data = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DetectionError(f"unreadable {INFO_FILE}: {exc}", where=str(info)) from exc
    entries = data.get("regression_tests_info") if isinstance(data, dict) else None
    counts = [
        entry["match_count"]
        for entry in entries or []
        if isinstance(entry, dict) and isinstance(entry.get("match_count"), int)
    ]
    return True, sum(counts) if counts else None


def load_case(folder: Path) -> RuleCase:
    """The case in `folder` (DetectionError when it has no `rule.yml` or an unreadable `info.yml`)."""
    if not (folder / RULE_FILE).is_file():
        raise DetectionError(f"no {RULE_FILE} in the case folder", where=str(folder))
    files = sorted(p for p in folder.iterdir() if p.is_file() and _event_suffix(p) in EVENT_SUFFIXES)
    evtx = [p for p in files if _event_suffix(p) == ".evtx"]
    # An evtx_dump `.json` beside its `.evtx` holds the same events again.
    events = tuple(evtx or files)
    has_info, expected = _expected(folder / INFO_FILE)
    return RuleCase(folder, events, has_info, expected)


def find_cases(paths: Iterable[Path]) -> list[RuleCase]:
    """Every case under the given paths (a case folder, or a folder of them at any depth), by folder path."""
    folders: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            raise DetectionError("not a folder (a case folder, or a folder of them)", where=str(path))
        folders |= {rule.parent for rule in path.rglob(RULE_FILE)}
    if not folders:
        raise DetectionError(f"no case folder (one holding {RULE_FILE}) found", where=", ".join(map(str, paths)))
    return [load_case(folder) for folder in sorted(folders)]


def _case_rule(case: RuleCase) -> Rule:
    ruleset = scan_rules(paths=[case.rule_path])
    if ruleset.errors:
        raise ruleset.errors[0]
    if len(ruleset.rules) != 1:
        raise DetectionError("expected exactly one rule", where=str(case.rule_path))
    return ruleset.rules[0]


def _events(source: str, files: tuple[Path, ...]) -> Iterator[tuple[str, Event]]:
    """The events the source's parser makes of the files, with their ingestion ids (rejects are left out)."""
    factory = parser_factory(source)
    for item in expand_paths(list(files)):
        stream = FileStream(item)
        parser = factory(stream.context())
        for record in stream.records(parser):
            result = parser.parse(record)
            if isinstance(result, Event):
                scope, occurrence = stream.identity(record, result.original)
                yield event_id(source, result.original, occurrence, scope=scope), result


def scratch_index(source: str) -> str:
    """A fresh scratch index name for cases' events of `source` (outside the events pattern and alias)."""
    return naming.name(f"rulestest-{source}-{uuid.uuid4().hex[:12]}")


@dataclass(slots=True)
class _Prepared:
    case: RuleCase
    result: CaseResult
    source: str
    query: dict[str, Any]
    ids: list[str]


def _prepare(case: RuleCase) -> tuple[_Prepared | None, CaseResult, list[dict[str, Any]]]:
    result = CaseResult(case.name, None, 0, 0, case.expected, False if case.has_info else None)
    try:
        rule = _case_rule(case)
        result.rule = rule.id
        compiled = compile_rule(rule)
        source = rule.logsource.target().source
        docs: list[dict[str, Any]] = [
            {"_id": doc_id, "_source": event.document()} for doc_id, event in _events(source, case.events)
        ]
    except SiemError as exc:
        result.error = str(exc)
        return None, result, []
    prepared = _Prepared(case, result, source, compiled.body()["query"], [str(doc["_id"]) for doc in docs])
    return prepared, result, docs


def run_cases(client: OpenSearch, cases: Iterable[RuleCase]) -> list[CaseResult]:
    """Run cases on the node, in order; a case that cannot run reports its error and `ok` false.

    The events of all cases of one source share one scratch index, each case's rule counted among its
    own events only (by their ids): one index and one refresh per source instead of one per case.
    """
    results: list[CaseResult] = []
    by_source: dict[str, list[tuple[_Prepared, list[dict[str, Any]]]]] = {}
    for case in cases:
        prepared, result, docs = _prepare(case)
        results.append(result)
        if prepared is not None:
            by_source.setdefault(prepared.source, []).append((prepared, docs))
    for source, batch in by_source.items():
        index = scratch_index(source)
        client.indices.create(index=index, body=source_index_body(source))
        try:
            actions = ({"_op_type": "index", "_index": index, **doc} for _, docs in batch for doc in docs)
            _, errors = helpers.bulk(client, actions, raise_on_error=False)
            if errors:
                raise DetectionError(f"{len(errors)} events were not indexed: {errors[0]}", where=source)
            client.indices.refresh(index=index)
            for prepared, _ in batch:
                _count(client, index, prepared)
        finally:
            client.indices.delete(index=index, ignore_unavailable=True)
    return results


def run_case(client: OpenSearch, case: RuleCase) -> CaseResult:
    """Run one case on the node."""
    return run_cases(client, [case])[0]


def _count(client: OpenSearch, index: str, prepared: _Prepared) -> None:
    result, case = prepared.result, prepared.case
    result.events = len(set(prepared.ids))
    query = {"bool": {"filter": [prepared.query, {"ids": {"values": sorted(set(prepared.ids))}}]}}
    try:
        result.matched = int(client.count(index=index, body={"query": query})["count"]) if prepared.ids else 0
    except TransportError as exc:
        result.error = f"the node refused the rule's query: {_reason(exc)}"
        return
    if case.has_info:
        result.ok = result.matched >= (case.expected if case.expected is not None else 1)
    log.info("case %s: %d of %d events matched", case.name, result.matched, result.events)


def _reason(exc: TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {}) if isinstance(info.get("error"), dict) else {}
    causes = error.get("root_cause") or [error]
    cause = causes[0] if causes and isinstance(causes[0], dict) else {}
    return f"{cause.get('type', exc.error)}: {str(cause.get('reason', ''))[:300]}"
