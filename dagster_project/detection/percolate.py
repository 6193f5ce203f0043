"""Detection on arrival with the percolator: every plain rule stored once, each batch of events matched against all.

A retro-hunt asks every rule's query of the events (one search per rule); for events that have just
arrived the question turns around: `percolate` takes a batch of documents and returns the stored queries
that match them, so one request answers all the rules of a source for up to `BATCH` events (the design
Security Analytics' document-level monitors stand on). Each source has a percolator index
(`naming.percolator_index`) with that source's mappings and analysis, so a stored query reads the fields,
`.caseless` sub-fields and normalizers it does over the events index. A rule is stored under its id with
a hash of its compiled query and of the mapping of every field it names: the percolator reads a query's
fields when it stores it (a query stored before its field was mapped never matches once it is), so a rule
is stored again when its query or one of its fields changes. Registering again changes only what changed
and removes rules gone. The hash of a source's whole rule set is kept in the percolator index's `_meta`:
a run whose rules and fields are those already stored reads one mapping and writes nothing. A rule the
node refuses to store (e.g. its query is too long) is returned in `Registered.refused`, with the reason.

Correlation rules (counts over windows) are not per-document questions and stay with the hunt. The node
needs the percolator module (`siem opensearch up` adds it; `available` says whether every node has it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project import searches
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
BATCH = 2000
"""Events percolated per request."""
RUNNER = "percolator"
_KEPT_SETTINGS = ("analysis", "number_of_replicas", "mapping")
"""Index settings of the events template the percolator index needs (its fields' analysis and limits)."""


META_RULESET = "siem_ruleset"
"""`_meta` key of a percolator index: the hash of the rule set (queries and their fields' mappings) stored in it."""
META_REFUSED = "siem_refused"
"""`_meta` key of a percolator index: rule id -> why the node refused to store it, for that rule set."""
_NAME = re.compile(r"[\w.@-]+")


@dataclass
class Registered:
    """The plain rules of each source stored as percolator queries, and those the node refused to store."""

    by_source: dict[str, list[tuple[Rule, CompiledRule]]] = field(default_factory=dict)
    changed: int = 0
    removed: int = 0
    unchanged: list[str] = field(default_factory=list)
    """Sources whose stored rule set was already this one: nothing was read or written for them."""
    refused: list[tuple[Rule, CompiledRule, str]] = field(default_factory=list)
    """Rules not stored, with the node's reason (percolation does not run them)."""
    _by_id: dict[tuple[str, str], Rule] = field(default_factory=dict)

    def rule(self, source: str, rule_id: str) -> Rule:
        """The rule stored under `rule_id` for `source`."""
        if not self._by_id:
            self._by_id = {(src, rule.id): rule for src, pairs in self.by_source.items() for rule, _ in pairs}
        return self._by_id[(source, rule_id)]

    @property
    def rules(self) -> int:
        """Rules stored (over all sources)."""
        return sum(len(pairs) for pairs in self.by_source.values())


def available(client: OpenSearch) -> bool:
    """True when every node loaded the percolator module."""
    return MODULE in modules(client)


def source_of(compiled: CompiledRule) -> str | None:
    """The source whose events a compiled rule reads (None for a pattern over several sources)."""
    return naming.source_of_family(compiled.index.removesuffix("-*"))


def _rule_hash(compiled: CompiledRule, fields: dict[str, str]) -> str:
    """A hash of the rule's query and of the mapping of every field it names (`fields`: path -> mapping)."""
    text = json.dumps(compiled.query, sort_keys=True)
    named = sorted(name for name in set(_NAME.findall(text)) if name in fields)
    return hashlib.sha256("\0".join([text, *(f"{name}={fields[name]}" for name in named)]).encode()).hexdigest()


def _ruleset_hash(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()


def _field_mappings(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field path of a mapping (objects and multi-fields flattened) -> its own settings as JSON."""
    found: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        own = {k: v for k, v in spec.items() if k not in ("properties", "fields")}
        found[path] = json.dumps(own, sort_keys=True)
        for nested in ("properties", "fields"):
            found |= _field_mappings(spec.get(nested, {}), f"{path}.")
    return found


def _ensure_index(client: OpenSearch, source: str, names: set[str]) -> tuple[str, dict[str, Any]]:
    """The source's percolator index, with the template's mappings, every field its events indices gained
    since and the fields `names` (what the rules name) would get on arrival; and its mapping (`properties`, `_meta`)."""
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
    current = client.indices.get_mapping(index=index)[index]["mappings"]
    if not _field_mappings(merged).keys() <= _field_mappings(current.get("properties", {})).keys():
        client.indices.put_mapping(index=index, body={"properties": merged})
        current = client.indices.get_mapping(index=index)[index]["mappings"]
    arriving = _on_arrival(current, names)
    if arriving:
        client.indices.put_mapping(index=index, body={"properties": arriving})
        current = client.indices.get_mapping(index=index)[index]["mappings"]
    return index, current


def _on_arrival(mapping: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Mappings for the unmapped fields among `names` under a dynamic object (`winlog.event_data.Data`), as the
    index's string dynamic template will map them when an event brings one.

    The node refuses to store a query on an unmapped field's sub-field (`Data.caseless`); mapped ahead, it
    matches nothing until events have the field, as over the events index, and then matches as there.
    """
    strings = [
        spec["mapping"]
        for template in mapping.get("dynamic_templates", [])
        for spec in template.values()
        if set(spec) == {"match_mapping_type", "mapping"} and spec["match_mapping_type"] == "string"
    ]
    if not strings:
        return {}
    dynamic: dict[str, dict[str, Any]] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            if "properties" in spec:
                if str(spec.get("dynamic", "")).lower() == "true":
                    dynamic[f"{prefix}{name}"] = spec["properties"]
                walk(spec["properties"], f"{prefix}{name}.")

    walk(mapping.get("properties", {}), "")
    arriving: dict[str, Any] = {}
    for name in sorted(names):
        parent, _, leaf = name.removesuffix(".caseless").rpartition(".")
        if parent in dynamic and leaf and leaf not in dynamic[parent]:
            node = arriving
            for part in parent.split("."):
                node = node.setdefault(part, {}).setdefault("properties", {})
            node[leaf] = strings[0]
    return arriving


def _merge(into: dict[str, Any], properties: dict[str, Any]) -> None:
    """Add `properties` (a mapping's fields) to `into`, descending into objects and multi-fields."""
    for name, spec in properties.items():
        have = into.setdefault(name, {k: v for k, v in spec.items() if k not in ("properties", "fields")})
        for nested in ("properties", "fields"):
            if nested in spec:
                _merge(have.setdefault(nested, {}), spec[nested])


def register(client: OpenSearch, rules: Iterable[tuple[Rule, CompiledRule]]) -> Registered:
    """Store every plain rule as a percolator query in its source's index; drop stored rules no longer given.

    A source whose rule set (and the mapping of the fields its rules name) is the one stored costs one
    mapping read. Blocking; a rule the node refuses is reported in `refused`, any other failure raises.
    """
    registered = Registered()
    for rule, compiled in rules:
        source = source_of(compiled)
        if compiled.correlation is None and source is not None:
            registered.by_source.setdefault(source, []).append((rule, compiled))
    for source, pairs in registered.by_source.items():
        names = {name for _, compiled in pairs for name in _NAME.findall(json.dumps(compiled.query))}
        index, mapping = _ensure_index(client, source, names)
        fields = _field_mappings(mapping.get("properties", {}))
        hashes = {rule.id: _rule_hash(compiled, fields) for rule, compiled in pairs}
        digest = _ruleset_hash(hashes)
        meta = mapping.get("_meta", {})
        if meta.get(META_RULESET) == digest:
            refused = dict(meta.get(META_REFUSED, {}))
            registered.unchanged.append(source)
        else:
            refused = _store(client, index, pairs, hashes, registered)
            client.indices.put_mapping(index=index, body={"_meta": {META_RULESET: digest, META_REFUSED: refused}})
        registered.refused += [(rule, compiled, refused[rule.id]) for rule, compiled in pairs if rule.id in refused]
        registered.by_source[source] = [(rule, compiled) for rule, compiled in pairs if rule.id not in refused]
    return registered


def _store(
    client: OpenSearch,
    index: str,
    pairs: Sequence[tuple[Rule, CompiledRule]],
    hashes: dict[str, str],
    registered: Registered,
) -> dict[str, str]:
    """Index the rules whose hash changed, delete those gone; rule id -> reason for each the node refused."""
    stored = {
        hit["_id"]: hit["_source"].get(RULE_FIELD, {}).get("hash")
        for hit in searches.collect(
            client, index=index, body={"_source": [f"{RULE_FIELD}.hash"]}, where=f"rules stored in {index}"
        )
    }
    actions = []
    for rule, compiled in pairs:
        digest = hashes[rule.id]
        if stored.pop(rule.id, None) != digest:
            doc = {QUERY_FIELD: compiled.query, RULE_FIELD: {"id": rule.id, "hash": digest}}
            actions.append({"_op_type": "index", "_index": index, "_id": rule.id, "_source": doc})
    actions += [{"_op_type": "delete", "_index": index, "_id": gone} for gone in stored]
    refused: dict[str, str] = {}
    for ok, item in helpers.streaming_bulk(client, actions, chunk_size=200, raise_on_error=False):
        ((operation, result),) = item.items()
        if ok or (operation == "delete" and result.get("status") == 404):
            continue
        error = result.get("error")
        if result.get("status") != 400:
            raise DetectionError(f"could not store the rule as a percolator query: {error}", where=result.get("_id"))
        reason = error.get("caused_by", error).get("reason") if isinstance(error, dict) else str(error)
        refused[result["_id"]] = str(reason)[:500]
        log.warning("rule %s not stored as a percolator query: %s", result["_id"], reason)
    if refused:  # an earlier version of a refused rule must not go on matching
        gone = [{"_op_type": "delete", "_index": index, "_id": rule_id} for rule_id in refused]
        for _ in helpers.streaming_bulk(client, gone, raise_on_error=False):
            pass
    registered.changed += sum(1 for a in actions if a["_op_type"] == "index") - len(refused)
    registered.removed += len(stored)
    client.indices.refresh(index=index)
    return refused


def percolate(client: OpenSearch, source: str, hits: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Rule id -> positions in `hits` (events with `_source`) that the rule matches, for one source."""
    documents = [hit["_source"] for hit in hits]
    body = {
        "size": 10_000,
        "_source": False,
        "query": {"percolate": {"field": QUERY_FIELD, "documents": documents}},
    }
    response = searches.search(
        client, f"percolating {source}", index=naming.percolator_index(source), body=body, request_timeout=300
    )
    return {hit["_id"]: list(hit["fields"]["_percolator_document_slot"]) for hit in response["hits"]["hits"]}


@dataclass
class ArrivalResult:
    """What percolating a range found: events read, matches per rule id, findings written, seconds."""

    events: int = 0
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    findings: int = 0
    seconds: float = 0.0


def detect_range(
    client: OpenSearch,
    registered: Registered,
    start: datetime,
    end: datetime,
    *,
    partition: str | None = None,
    only: dict[str, Any] | None = None,
) -> ArrivalResult:
    """Percolate every event with start <= @timestamp < end (and matching `only`, a query) against its source's
    rules; write the findings."""
    result = ArrivalResult()
    began = time.monotonic()
    detected_at = datetime.now(UTC)
    for source in sorted(registered.by_source):
        query = {"query": {"bool": {"filter": [time_range("@timestamp", start, end), *([only] if only else [])]}}}
        events = searches.scroll(  # no restart: `matched` counts each event once; incomplete raises
            client,
            index=naming.events_pattern(source),
            body=query,
            where=f"events of {source}",
            size=BATCH,
            ignore_unavailable=True,
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
