"""Enforces retention from event time: daily indices past SIEM_HOT_DAYS become read-only, then are deleted
past SIEM_RETENTION_DAYS; and states the retention in force (for the compliance reports).

ISM counts an index's age from its creation, which is wrong for data backfilled late; the suite names
each daily index by event date and enforces the same ages (from the ISM policy's settings) by that date.

Every run is recorded in the suite's audit trail (`retention.run`), and so is every index it deletes
(`retention.delete`): the reports say when retention last ran, and integrity verification tells an
event that retention expired from one that was deleted by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project import searches
from dagster_project.cluster import ISM_PLUGIN, installed_plugins
from dagster_project.security import audit
from dagster_project.security.actor import actor
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import ism_policy_with_ages, load_artifacts

log = logging.getLogger(__name__)

RUN_ACTION = "retention.run"
DELETE_ACTION = "retention.delete"
RUN_INTERVAL = timedelta(days=1)
"""How often retention runs (the `daily_retention` schedule); a report calls it overdue past this plus the grace."""
RUN_GRACE = timedelta(hours=2)
"""How long a scheduled run may take to start and finish before it counts as missed."""


@dataclass(frozen=True)
class RetentionAction:
    """What retention did to one index, and why."""

    index: str
    day: str
    age_days: int
    action: str
    """deleted | made_read_only | kept"""


@dataclass(frozen=True)
class DatedIndex:
    """A daily suite index: its name, the day in its name, and whether writes to it are blocked."""

    name: str
    day: date
    read_only: bool


@dataclass(frozen=True)
class RetentionInForce:
    """The retention configured, the ISM policy file with those ages, and how this cluster enforces it."""

    retention_days: int
    hot_days: int
    meets_pci_10_5_1: bool
    policy_file: str
    """Relative to the repository, e.g. `index_templates/ism_policies/siem-events-retention.json`."""
    warm_after: str
    delete_after: str
    enforcement: str


def dated_indices(client: OpenSearch, pattern: str) -> list[DatedIndex]:
    """Every open daily index matching `pattern`, sorted by name (names that carry no day are left out)."""
    settings = client.indices.get_settings(
        index=pattern, flat_settings=True, allow_no_indices=True, ignore_unavailable=True, expand_wildcards="open"
    )
    found = []
    for name in sorted(settings):
        parsed = naming.index_day(name)
        if parsed is not None:
            blocked = settings[name].get("settings", {}).get("index.blocks.write") == "true"
            found.append(DatedIndex(name, parsed[1], blocked))
    return found


def retention_in_force(client: OpenSearch, retention: RetentionSettings) -> RetentionInForce:
    """The events' retention as configured, as the policy file states it with those ages, and as enforced."""
    policy = naming.events_retention_policy()
    artifact = next(a for a in load_artifacts("ism_policy") if a.name == policy)
    warm, delete = policy_ages(ism_policy_with_ages(artifact, retention.hot_days, retention.retention_days))
    if ISM_PLUGIN in installed_plugins(client):
        try:
            applied = client.transport.perform_request("GET", f"/_plugins/_ism/policies/{policy}")
            applied_warm, applied_delete = policy_ages({"policy": applied["policy"]})
            enforcement = (
                f"ISM policy {policy} applied on the cluster (warm after {applied_warm}, delete after {applied_delete})"
            )
        except NotFoundError:
            enforcement = f"ISM plugin installed but policy {policy} not applied: run `siem bootstrap`"
    else:
        enforcement = "ISM plugin not installed: `siem retention` enforces the same ages by event date"
    return RetentionInForce(
        retention_days=retention.retention_days,
        hot_days=retention.hot_days,
        meets_pci_10_5_1=retention.meets_pci_10_5_1,
        policy_file=str(artifact.path.relative_to(artifact.path.parents[2])),
        warm_after=warm,
        delete_after=delete,
        enforcement=enforcement,
    )


def policy_ages(policy: Mapping[str, Any]) -> tuple[str, str]:
    """(warm after, delete after) of an ISM policy body, `never` for a transition it lacks."""
    warm = delete = "never"
    for state in policy["policy"]["states"]:
        for transition in state.get("transitions", []):
            age = transition.get("conditions", {}).get("min_index_age", "?")
            if transition.get("state_name") == "warm":
                warm = age
            elif transition.get("state_name") == "delete":
                delete = age
    return warm, delete


def enforce_retention(
    client: OpenSearch,
    retention: RetentionSettings,
    *,
    today: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[RetentionAction]:
    """Apply the retention schedule to every dated siem index; returns one action per index.

    A real run (not `dry_run`) is recorded in the audit trail at `now` (default: the current time).
    """
    now = now or datetime.now(UTC)
    today = today or now.date()
    actions: list[RetentionAction] = []
    for dated in dated_indices(client, f"{naming.events_pattern()},{naming.quarantine_pattern()}"):
        index, day = dated.name, dated.day
        age = (today - day).days
        if age >= retention.retention_days:
            if not dry_run:
                client.indices.delete(index=index)
                audit.record(
                    client,
                    DELETE_ACTION,
                    actor=actor(),
                    target=index,
                    details={"event_day": day.isoformat(), "age_days": age, "retention_days": retention.retention_days},
                    key=day.isoformat(),
                )
            actions.append(RetentionAction(index, day.isoformat(), age, "deleted"))
            log.info("retention: deleted %s (event date %s, %d days old)", index, day, age)
            continue
        if age >= retention.hot_days and not dated.read_only:
            if not dry_run:
                client.indices.put_settings(index=index, body={"index.blocks.write": True})
                client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=600)
            actions.append(RetentionAction(index, day.isoformat(), age, "made_read_only"))
            continue
        actions.append(RetentionAction(index, day.isoformat(), age, "kept"))
    if not dry_run:
        record_run(client, retention, actions, now)
    return actions


def record_run(client: OpenSearch, retention: RetentionSettings, actions: list[RetentionAction], at: datetime) -> None:
    """Record one retention run in the audit trail (what it did, with which ages), at `at`."""
    tally = {kind: sum(a.action == kind for a in actions) for kind in ("deleted", "made_read_only", "kept")}
    audit.record(
        client,
        RUN_ACTION,
        actor=actor(),
        target=naming.events_pattern(),
        details={**tally, "retention_days": retention.retention_days, "hot_days": retention.hot_days},
        timestamp=at,
    )


def last_run(client: OpenSearch, until: datetime) -> datetime | None:
    """When retention last ran at or before `until` (from the audit trail), None when it never did."""
    client.indices.refresh(index=naming.audit_index(), ignore_unavailable=True)
    response = searches.search(
        client,
        "retention runs",
        index=naming.audit_index(),
        body={
            "size": 1,
            "_source": ["@timestamp"],
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"action": RUN_ACTION}},
                        {"range": {"@timestamp": {"lte": until.astimezone(UTC).isoformat()}}},
                    ]
                }
            },
            "sort": [{"@timestamp": "desc"}],
        },
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    hits = response["hits"]["hits"]
    return _instant(hits[0]["_source"]["@timestamp"]) if hits else None


def deleted_by_retention(client: OpenSearch) -> dict[str, datetime]:
    """Every index retention deleted (from the audit trail), with when it last did so."""
    if not client.indices.exists(index=naming.audit_index()):
        return {}
    client.indices.refresh(index=naming.audit_index())
    found: dict[str, datetime] = {}
    for hit in searches.scan(  # a hit twice is the same as once here
        client,
        index=naming.audit_index(),
        body={"query": {"term": {"action": DELETE_ACTION}}, "_source": ["target", "@timestamp"]},
        where="retention deletions",
    ):
        index, when = hit["_source"]["target"], _instant(hit["_source"]["@timestamp"])
        found[index] = max(when, found.get(index, when))
    return found


def _instant(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_dicts(actions: list[RetentionAction]) -> list[dict[str, object]]:
    """Actions as plain data for --json and metadata."""
    return [asdict(a) for a in actions]
