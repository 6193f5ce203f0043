"""Detection of events just ingested: plain rules by percolation where every node has the module, else the hunt.

A spool batch brings a few thousand events; asking each of thousands of rules about them (the hunt) costs a
search per rule, while percolating them costs one request per `percolate.BATCH` events for all rules. So
`prepare` registers the plain rules once per run (`percolate.register`: nothing is written when the stored
rule set is this one) and `detect` percolates the events of a range, optionally only those matching a
query (a batch's own events). Correlation rules (counts over windows), and the rules the node refused to
store, run as the hunt runs them over the same range. On a cluster without the percolator module every
rule runs as the hunt. Findings carry the hunt's deterministic ids either way, so whichever path wrote a
finding first, the other overwrites it and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.detection import percolate
from dagster_project.detection.compile import CompiledRule
from dagster_project.detection.hunt import hunt
from dagster_project.detection.rules import Rule

HUNT = "retro-hunt"


@dataclass(frozen=True)
class Plan:
    """How a run's rules are asked: those stored for percolation, and those the hunt runs."""

    registered: percolate.Registered | None
    """None when the cluster cannot percolate."""
    hunted: list[tuple[Rule, CompiledRule]]

    @property
    def runner(self) -> str:
        """`percolator` or `retro-hunt`: what runs the plain rules."""
        return percolate.RUNNER if self.registered is not None else HUNT


@dataclass
class Detected:
    """What detecting over a range found: findings written, events matched, events percolated."""

    findings: int = 0
    matched: int = 0
    percolated: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def prepare(client: OpenSearch, rules: list[tuple[Rule, CompiledRule]], *, percolation: bool = True) -> Plan:
    """Register the plain rules when asked to and every node can percolate (else plan the hunt for all); blocking."""
    if not percolation or not percolate.available(client):
        return Plan(None, list(rules))
    registered = percolate.register(client, rules)
    refused = {rule.id for rule, _, _ in registered.refused}
    hunted = [(rule, compiled) for rule, compiled in rules if compiled.correlation is not None or rule.id in refused]
    stored = {rule.id for pairs in registered.by_source.values() for rule, _ in pairs}
    # A plain rule percolation cannot route (a pattern over several sources) is hunted too.
    hunted += [
        (rule, compiled)
        for rule, compiled in rules
        if compiled.correlation is None and rule.id not in refused and rule.id not in stored
    ]
    return Plan(registered, hunted)


def detect(
    client: OpenSearch,
    plan: Plan,
    start: datetime,
    end: datetime,
    *,
    only: dict[str, Any] | None = None,
    partition: str | None = None,
) -> Detected:
    """Findings for events with start <= @timestamp < end (percolated: only those matching `only`); blocking."""
    detected = Detected()
    if plan.registered is not None:
        arrived = percolate.detect_range(client, plan.registered, start, end, partition=partition, only=only)
        detected.findings += arrived.findings
        detected.percolated = arrived.events
        detected.by_rule.update({rule_id: n for rule_id, n in arrived.matched.items() if n})
    if plan.hunted:
        hunted = hunt(client, start, end, rules=plan.hunted, partition=partition)
        detected.findings += hunted.findings
        detected.by_rule.update({outcome.id: outcome.matched for outcome in hunted.rules if outcome.matched})
    detected.matched = sum(detected.by_rule.values())
    return detected
