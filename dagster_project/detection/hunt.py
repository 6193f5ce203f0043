"""Retro-hunts: run compiled rules over a time range of stored events and write findings to `siem-findings`.

Plain rules are counted first, many per request, and only those that matched stream their events
(`dagster_project.detection.execute`; only the entity fields are fetched); correlation rules run as
aggregations and each qualifying group and window becomes one finding. Finding ids are hashes of the
rule id and the matched event id (or of the rule, group and window), so a re-run overwrites and adds nothing.
Blocking; writes use `streaming_bulk`, retried as `dagster_project.retries` states.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project import searches
from dagster_project.detection import selection_cache
from dagster_project.detection.cache import compiled_rule as compile_cached
from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.execute import count_matches, matching_events
from dagster_project.detection.results import correlation_alerts
from dagster_project.detection.rules import CURATED, Rule, in_pack, load_rules, rules_dir, scan_pack
from dagster_project.errors import DetectionError
from dagster_project.ids import stable_id
from dagster_project.querydsl import time_range
from dagster_project.retries import BulkRetry, IdempotentBulkClient
from dagster_project.settings import NodeSettings, RuleSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)

BULK_RETRY = BulkRetry()
ENTITY_FIELDS = (
    "host.name",
    "user.name",
    "source.ip",
    "event.action",
    "event.dataset",
    "cloud.account.id",
    "siem.source",
)
MAX_EVENT_IDS = 100
"""Event ids kept on one correlation finding (the earliest ones in its window)."""


@dataclass
class RuleOutcome:
    """What one rule found in a hunt."""

    id: str
    title: str
    level: str
    tags: list[str]
    findings: int = 0
    """Findings this run wrote (0 on a re-run over a range already hunted)."""
    matched: int = 0
    """Events (correlations: groups and windows) the rule matched in the range, the same on every re-run."""
    pack: str = CURATED
    seconds: float = 0.0


@dataclass
class HuntResult:
    """A hunt's range and per-rule outcomes; `findings` is the total."""

    start: datetime
    end: datetime
    rules: list[RuleOutcome] = field(default_factory=list)

    @property
    def findings(self) -> int:
        """Findings over all rules."""
        return sum(r.findings for r in self.rules)

    @property
    def matched(self) -> int:
        """Matches over all rules."""
        return sum(r.matched for r in self.rules)


def finding_id(rule_id: str, *parts: str) -> str:
    """Deterministic finding id from the rule id and the matched event id (or group and window)."""
    return stable_id(rule_id, *parts)


def _pack_of(path: Path, packs: tuple[Path, ...]) -> tuple[Path, str]:
    """The pack root and name a `--rules` path belongs to (its own folder when it is in none)."""
    resolved = path.resolve()
    for root, name in ((rules_dir(), CURATED), *((pack, pack.name) for pack in packs)):
        if resolved.is_relative_to(root.resolve()):
            return root, name
    return (path if path.is_dir() else path.parent), (path.name if path.is_dir() else path.parent.name)


def _candidate_rules(rule_paths: Iterable[Path] | None, settings: RuleSettings) -> list[Rule]:
    """Curated rules (errors raise) and pack rules (errors logged and skipped), or only those of `rule_paths`."""
    packs = settings.pack_paths()
    if rule_paths:
        found: list[Rule] = []
        for path in rule_paths:
            root, name = _pack_of(path, packs)
            ruleset = in_pack(scan_pack(path, name), root, name)
            if ruleset.errors and not ruleset.rules:
                raise ruleset.errors[0]
            found.extend(ruleset.rules)
        return found
    chosen = list(load_rules())
    for pack in packs:
        ruleset = scan_pack(pack)
        for error in ruleset.errors:
            log.warning("rule pack %s: %s", pack, error)
        chosen.extend(ruleset.rules)
    return chosen


def select_rules(
    rule_ids: Iterable[str] | None = None,
    *,
    rule_paths: Iterable[Path] | None = None,
    settings: RuleSettings | None = None,
) -> list[tuple[Rule, CompiledRule]]:
    """The rules that raise findings, compiled: curated and pack rules of a status that runs.

    Correlation base rules are left out (they raise nothing on their own); `rule_ids` keeps only those
    ids or names, `rule_paths` only the rules of those files or folders. A pack rule that does not
    compile (e.g. its log source is not collected) is skipped with a log line; `siem rules check` says why.
    The default selection (no ids, no paths) is kept by its files' content (`selection_cache`).
    """
    settings = settings or RuleSettings()
    home = NodeSettings().home  # read once: reading the settings per rule costs seconds over a pack
    key = None
    if not rule_ids and not rule_paths:
        key = selection_cache.selection_key((rules_dir(), *settings.pack_paths()), settings)
        kept = selection_cache.load(key, home)
        if kept is not None:
            return kept
    rules = [rule for rule in _candidate_rules(rule_paths, settings) if settings.runs(rule.status)]
    referenced = {name for rule in rules for name in rule.references}
    wanted = set(rule_ids or [])
    chosen = []
    for rule in rules:
        if rule.name is not None and rule.name in referenced and rule.correlation is None:
            continue  # a building block of a correlation: it raises nothing on its own
        if wanted and rule.id not in wanted and (rule.name or "") not in wanted:
            continue
        try:
            compiled = compile_cached(rule, home=home)
        except DetectionError as exc:
            if rule.pack == CURATED:
                raise
            log.info("rule %s skipped: %s", rule.where, exc.message)
            continue
        chosen.append((rule, compiled))
    missing = wanted - {r.id for r, _ in chosen} - {r.name for r, _ in chosen if r.name}
    if missing:
        raise DetectionError(f"no such rule: {', '.join(sorted(missing))}", where="--rule")
    if key is not None:
        selection_cache.keep(key, chosen, home)
    return chosen


def hunt(
    client: OpenSearch,
    start: datetime,
    end: datetime,
    *,
    rules: list[tuple[Rule, CompiledRule]] | None = None,
    partition: str | None = None,
) -> HuntResult:
    """Run `rules` (default: all) over events with start <= @timestamp < end; write and count findings."""
    rules = rules if rules is not None else select_rules()
    result = HuntResult(start, end)
    detected_at = datetime.now(UTC)
    started = time.monotonic()
    counts = iter(count_matches(client, [c for _, c in rules if c.correlation is None], start, end))
    count_share = (time.monotonic() - started) / max(len(rules), 1)
    for rule, compiled in rules:
        started = time.monotonic() - count_share
        outcome = RuleOutcome(rule.id, rule.title, rule.level, list(rule.tags), pack=rule.pack)
        if compiled.correlation:
            docs = _counted(outcome, _correlation_findings(client, rule, compiled, start, end))
        else:
            outcome.matched = next(counts)
            docs = _plain_findings(client, rule, compiled, start, end) if outcome.matched else iter(())
        actions = (finding_action(doc, rule, detected_at, partition) for doc in docs)
        for ok, item in helpers.streaming_bulk(
            IdempotentBulkClient(client, BULK_RETRY),  # `index` with deterministic finding ids
            actions,
            chunk_size=1000,
            raise_on_error=True,
            **BULK_RETRY.streaming_kwargs(),
        ):
            # `index` overwrites a finding a previous run wrote: only a created one is new.
            outcome.findings += 1 if ok and item.get("index", {}).get("result") == "created" else 0
        outcome.seconds = round(time.monotonic() - started, 3)
        result.rules.append(outcome)
        log.info("rule %s (%s): %d findings", rule.id, rule.title, outcome.findings)
    client.indices.refresh(index=naming.findings_index(), ignore_unavailable=True)
    return result


def _entity(source: dict[str, Any]) -> dict[str, Any]:
    keep: dict[str, Any] = {}
    for dotted in ENTITY_FIELDS:
        node: Any = source
        for key in dotted.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is None or node == "" or node == []:
            continue
        target = keep
        parts = dotted.split(".")
        for key in parts[:-1]:
            target = target.setdefault(key, {})
        target[parts[-1]] = node[0] if isinstance(node, list) else node
    return keep


def _plain_findings(
    client: OpenSearch, rule: Rule, compiled: CompiledRule, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    for hit in matching_events(client, compiled, start, end, ["@timestamp", *ENTITY_FIELDS]):
        yield event_finding(rule, hit)


def event_finding(rule: Rule, hit: dict[str, Any]) -> dict[str, Any]:
    """The finding of a plain rule for one matched event (`_id`, `_index`, `_source` of the hit)."""
    source = hit.get("_source", {})
    return {
        "_id": finding_id(rule.id, hit["_id"]),
        "@timestamp": source.get("@timestamp"),
        "finding": {"event_ids": [hit["_id"]], "event_index": hit["_index"], "event_count": 1},
        **_entity(source),
    }


def _counted(outcome: RuleOutcome, docs: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        outcome.matched += 1
        yield doc


def _correlation_findings(
    client: OpenSearch, rule: Rule, compiled: CompiledRule, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    assert compiled.correlation is not None
    lookback = timedelta(seconds=compiled.correlation.timespan_seconds)
    response = searches.search(
        client,
        compiled.rule_id,
        index=compiled.index,
        body=compiled.body(start - lookback, end),
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    if "aggregations" not in response:  # no index matches the rule's pattern yet: nothing to correlate
        return
    for alert in correlation_alerts(compiled, response):
        if alert.end <= start or alert.start >= end:
            continue
        group_filters = [{"term": {name: value}} for name, value in alert.group]
        events = searches.search(
            client,
            compiled.rule_id,
            index=compiled.index,
            body={
                "size": MAX_EVENT_IDS,
                "sort": [{"@timestamp": "asc"}],
                "_source": ["@timestamp", *ENTITY_FIELDS],
                "query": {
                    "bool": {
                        "filter": [compiled.query, *group_filters, time_range("@timestamp", alert.start, alert.end)]
                    }
                },
            },
            ignore_unavailable=True,
        )["hits"]["hits"]
        first = events[0]["_source"] if events else {}
        group = {name: value for name, value in alert.group}
        yield {
            "_id": finding_id(rule.id, json.dumps(group, sort_keys=True, default=str), alert.start.isoformat()),
            "@timestamp": alert.start.isoformat(),
            "finding": {
                "event_ids": [e["_id"] for e in events],
                "event_index": events[0]["_index"] if events else compiled.index,
                "event_count": alert.events,
                "group": {k: str(v) for k, v in group.items()},
                "window_start": alert.start.isoformat(),
                "window_end": alert.end.isoformat(),
            },
            **_entity(first),
        }


def finding_action(
    doc: dict[str, Any], rule: Rule, detected_at: datetime, partition: str | None, runner: str = "retro-hunt"
) -> dict[str, Any]:
    """The bulk `index` action storing a finding under its deterministic id, with the rule's provenance."""
    doc_id = doc.pop("_id")
    doc["finding"]["id"] = doc_id
    doc["detected_at"] = detected_at.isoformat()
    doc["runner"] = runner
    doc["rule"] = {
        "id": rule.id,
        "title": rule.title,
        "level": rule.level,
        "tags": list(rule.tags),
        "logsource": str(rule.logsource),
        "path": rule.pack_path or rule.path.name,
        "pack": rule.pack,
    }
    if partition:
        doc.setdefault("siem", {})["partition"] = partition
    return {"_op_type": "index", "_index": naming.findings_index(), "_id": doc_id, "_source": doc}
