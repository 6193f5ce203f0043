"""Retro-hunts: run compiled rules over a time range of stored events and write findings to `siem-findings`.

Plain rules stream their matches with a scroll (only the entity fields are fetched); correlation rules run
as aggregations and each qualifying group and window becomes one finding. Finding ids are hashes of the
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
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project.detection.compile import CompiledRule, compile_rule
from dagster_project.detection.results import correlation_alerts
from dagster_project.detection.rules import Rule, load_rules
from dagster_project.ids import stable_id
from dagster_project.querydsl import time_range
from dagster_project.retries import BulkRetry, IdempotentBulkClient
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


def finding_id(rule_id: str, *parts: str) -> str:
    """Deterministic finding id from the rule id and the matched event id (or group and window)."""
    return stable_id(rule_id, *parts)


def select_rules(rule_ids: Iterable[str] | None = None) -> list[tuple[Rule, CompiledRule]]:
    """The rules that raise findings (correlation base rules excluded), compiled; optionally only `rule_ids`."""
    rules = load_rules()
    referenced = {name for rule in rules for name in rule.references}
    wanted = set(rule_ids or [])
    chosen = []
    for rule in rules:
        if rule.name is not None and rule.name in referenced and rule.correlation is None:
            continue  # a building block of a correlation: it raises nothing on its own
        if wanted and rule.id not in wanted and (rule.name or "") not in wanted:
            continue
        chosen.append((rule, compile_rule(rule)))
    missing = wanted - {r.id for r, _ in chosen} - {r.name for r, _ in chosen if r.name}
    if missing:
        from dagster_project.errors import DetectionError

        raise DetectionError(f"no such rule: {', '.join(sorted(missing))}", where="--rule")
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
    for rule, compiled in rules:
        started = time.monotonic()
        outcome = RuleOutcome(rule.id, rule.title, rule.level, list(rule.tags))
        docs = (
            _correlation_findings(client, rule, compiled, start, end)
            if compiled.correlation
            else _plain_findings(client, rule, compiled, start, end)
        )
        actions = (_action(doc, rule, detected_at, partition) for doc in docs)
        for ok, _item in helpers.streaming_bulk(
            IdempotentBulkClient(client, BULK_RETRY),  # `index` with deterministic finding ids
            actions,
            chunk_size=1000,
            raise_on_error=True,
            **BULK_RETRY.streaming_kwargs(),
        ):
            outcome.findings += 1 if ok else 0
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
    body = compiled.body(start, end)
    body["_source"] = ["@timestamp", *ENTITY_FIELDS]
    for hit in helpers.scan(
        client, query=body, index=compiled.index, size=2000, preserve_order=False, ignore_unavailable=True
    ):
        source = hit.get("_source", {})
        yield {
            "_id": finding_id(rule.id, hit["_id"]),
            "@timestamp": source.get("@timestamp"),
            "finding": {"event_ids": [hit["_id"]], "event_index": hit["_index"], "event_count": 1},
            **_entity(source),
        }


def _correlation_findings(
    client: OpenSearch, rule: Rule, compiled: CompiledRule, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    assert compiled.correlation is not None
    lookback = timedelta(seconds=compiled.correlation.timespan_seconds)
    response = client.search(
        index=compiled.index, body=compiled.body(start - lookback, end), ignore_unavailable=True, allow_no_indices=True
    )
    if "aggregations" not in response:  # no index matches the rule's pattern yet: nothing to correlate
        return
    for alert in correlation_alerts(compiled, response):
        if alert.end <= start or alert.start >= end:
            continue
        group_filters = [{"term": {name: value}} for name, value in alert.group]
        events = client.search(
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


def _action(doc: dict[str, Any], rule: Rule, detected_at: datetime, partition: str | None) -> dict[str, Any]:
    doc_id = doc.pop("_id")
    doc["finding"]["id"] = doc_id
    doc["detected_at"] = detected_at.isoformat()
    doc["runner"] = "retro-hunt"
    doc["rule"] = {
        "id": rule.id,
        "title": rule.title,
        "level": rule.level,
        "tags": list(rule.tags),
        "logsource": str(rule.logsource),
        "path": str(rule.path.name),
    }
    if partition:
        doc.setdefault("siem", {})["partition"] = partition
    return {"_op_type": "index", "_index": naming.findings_index(), "_id": doc_id, "_source": doc}
