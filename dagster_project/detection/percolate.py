"""Detection on arrival with the percolator: every plain rule stored once, each batch of events matched against all.

A retro-hunt asks every rule's query of the events (one search per rule); for events that have just
arrived the question turns around: `percolate` takes a batch of documents and returns the stored queries
that match them, so one request answers all the rules of a source for up to `BATCH` events (the design
Security Analytics' document-level monitors stand on). Each source has a percolator index
(`naming.percolator_index`) with that source's mappings and analysis, so a stored query reads the fields,
`.caseless` sub-fields and normalizers it does over the events index. A rule is stored under its id with
the hash of its compiled query: registering again changes only what changed and removes rules gone.

Correlation rules (counts over windows) are not per-document questions and stay with the hunt. The node
needs the percolator module (`siem opensearch up` adds it; `available` says whether every node has it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project.cluster import modules
from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.hunt import BULK_RETRY, event_finding, finding_action
from dagster_project.detection.rules import Rule
from dagster_project.errors import DetectionError
from dagster_project.querydsl import time_range
from dagster_project.retries import IdempotentBulkClient
from dagster_project.storage import naming

log = logging.getLogger(__name__)

MODULE = "percolator"
QUERY_FIELD = "siem_percolator_query"
RULE_FIELD = "siem_rule"
BATCH = 500
"""Events percolated per request."""
RUNNER = "percolator"
_KEPT_SETTINGS = ("analysis", "number_of_replicas", "mapping")
"""Index settings of the events template the percolator index needs (its fields' analysis and limits)."""


@dataclass
class Registered:
    """The plain rules of each source stored as percolator queries."""

    by_source: dict[str, list[tuple[Rule, CompiledRule]]] = field(default_factory=dict)
    changed: int = 0
    removed: int = 0

    def rule(self, source: str, rule_id: str) -> Rule:
        """The rule stored under `rule_id` for `source`."""
        return next(rule for rule, _ in self.by_source[source] if rule.id == rule_id)


def available(client: OpenSearch) -> bool:
    """True when every node loaded the percolator module."""
    return MODULE in modules(client)


def source_of(compiled: CompiledRule) -> str | None:
    """The source whose events a compiled rule reads (None for a pattern over several sources)."""
    return naming.source_of_family(compiled.index.removesuffix("-*"))


def _query_hash(compiled: CompiledRule) -> str:
    return hashlib.sha256(json.dumps(compiled.query, sort_keys=True).encode()).hexdigest()


def _ensure_index(client: OpenSearch, source: str) -> str:
    """The source's percolator index, with the template's mappings and every field its events indices gained since."""
    index = naming.percolator_index(source)
    if not client.indices.exists(index=index):
        probe = naming.events_index(source, datetime.now(UTC))
        template = client.indices.simulate_index_template(name=probe)["template"]
        settings = template.get("settings", {}).get("index", {})
        kept = {k: v for k, v in settings.items() if k in _KEPT_SETTINGS}
        # A rule may name a field no event has had yet: stored as text it matches nothing, as it would there.
        kept |= {"number_of_shards": 1, "percolator.map_unmapped_fields_as_text": True}
        mappings = template.get("mappings", {})
        mappings.setdefault("properties", {}).update(
            {
                QUERY_FIELD: {"type": "percolator"},
                RULE_FIELD: {"properties": {"id": {"type": "keyword"}, "hash": {"type": "keyword"}}},
            }
        )
        client.indices.create(index=index, body={"settings": {"index": kept}, "mappings": mappings}, ignore=400)
    # Fields mapped dynamically as events arrived (winlog.event_data.*): the stored queries must see them too.
    found = client.indices.get_mapping(
        index=naming.events_pattern(source), ignore_unavailable=True, allow_no_indices=True
    )
    merged: dict[str, Any] = {}
    for mapping in found.values():
        _merge(merged, mapping.get("mappings", {}).get("properties", {}))
    if merged:
        client.indices.put_mapping(index=index, body={"properties": merged})
    return index


def _merge(into: dict[str, Any], properties: dict[str, Any]) -> None:
    """Add `properties` (a mapping's fields) to `into`, descending into objects and multi-fields."""
    for name, spec in properties.items():
        have = into.setdefault(name, {k: v for k, v in spec.items() if k not in ("properties", "fields")})
        for nested in ("properties", "fields"):
            if nested in spec:
                _merge(have.setdefault(nested, {}), spec[nested])


def register(client: OpenSearch, rules: Iterable[tuple[Rule, CompiledRule]]) -> Registered:
    """Store every plain rule as a percolator query in its source's index; drop stored rules no longer given."""
    registered = Registered()
    for rule, compiled in rules:
        source = source_of(compiled)
        if compiled.correlation is None and source is not None:
            registered.by_source.setdefault(source, []).append((rule, compiled))
    for source, pairs in registered.by_source.items():
        index = _ensure_index(client, source)
        stored = {
            hit["_id"]: hit["_source"].get(RULE_FIELD, {}).get("hash")
            for hit in helpers.scan(client, index=index, query={"_source": [f"{RULE_FIELD}.hash"]})
        }
        actions = []
        for rule, compiled in pairs:
            digest = _query_hash(compiled)
            if stored.pop(rule.id, None) != digest:
                doc = {QUERY_FIELD: compiled.query, RULE_FIELD: {"id": rule.id, "hash": digest}}
                actions.append({"_op_type": "index", "_index": index, "_id": rule.id, "_source": doc})
        actions += [{"_op_type": "delete", "_index": index, "_id": gone} for gone in stored]
        for ok, item in helpers.streaming_bulk(client, actions, chunk_size=200, raise_on_error=False):
            if not ok:
                result = next(iter(item.values()))
                raise DetectionError(
                    f"could not store the rule as a percolator query: {result.get('error')}", where=result.get("_id")
                )
        registered.changed += sum(1 for a in actions if a["_op_type"] == "index")
        registered.removed += len(stored)
        client.indices.refresh(index=index)
    return registered


def percolate(client: OpenSearch, source: str, hits: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Rule id -> positions in `hits` (events with `_source`) that the rule matches, for one source."""
    documents = [hit["_source"] for hit in hits]
    body = {
        "size": 10_000,
        "_source": False,
        "query": {"percolate": {"field": QUERY_FIELD, "documents": documents}},
    }
    response = client.search(index=naming.percolator_index(source), body=body, request_timeout=300)
    return {hit["_id"]: list(hit["fields"]["_percolator_document_slot"]) for hit in response["hits"]["hits"]}


@dataclass
class ArrivalResult:
    """What percolating a range found: events read, matches per rule id, findings written, seconds."""

    events: int = 0
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    findings: int = 0
    seconds: float = 0.0


def detect_range(
    client: OpenSearch, registered: Registered, start: datetime, end: datetime, *, partition: str | None = None
) -> ArrivalResult:
    """Percolate every event with start <= @timestamp < end against its source's rules; write the findings."""
    result = ArrivalResult()
    began = time.monotonic()
    detected_at = datetime.now(UTC)
    for source in sorted(registered.by_source):
        query = {"query": {"bool": {"filter": [time_range("@timestamp", start, end)]}}}
        events = helpers.scan(
            client, index=naming.events_pattern(source), query=query, size=BATCH, ignore_unavailable=True
        )
        actions = (
            finding_action(doc, rule, detected_at, partition, runner=RUNNER)
            for rule, doc in _findings(client, registered, source, events, result)
        )
        for ok, item in helpers.streaming_bulk(
            IdempotentBulkClient(client, BULK_RETRY),
            actions,
            chunk_size=1000,
            raise_on_error=True,
            **BULK_RETRY.streaming_kwargs(),
        ):
            result.findings += 1 if ok and item.get("index", {}).get("result") == "created" else 0
    client.indices.refresh(index=naming.findings_index(), ignore_unavailable=True)
    result.seconds = round(time.monotonic() - began, 3)
    return result


def _findings(
    client: OpenSearch, registered: Registered, source: str, events: Iterator[dict[str, Any]], result: ArrivalResult
) -> Iterator[tuple[Rule, dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for hit in events:
        batch.append(hit)
        if len(batch) == BATCH:
            yield from _matched(client, registered, source, batch, result)
            batch = []
    if batch:
        yield from _matched(client, registered, source, batch, result)


def _matched(
    client: OpenSearch, registered: Registered, source: str, batch: list[dict[str, Any]], result: ArrivalResult
) -> Iterator[tuple[Rule, dict[str, Any]]]:
    result.events += len(batch)
    for rule_id, slots in percolate(client, source, batch).items():
        rule = registered.rule(source, rule_id)
        result.matched[rule_id] += len(slots)
        for slot in slots:
            yield rule, event_finding(rule, batch[slot])
