"""Enforces retention from event time: daily indices past SIEM_HOT_DAYS become read-only, then are deleted
past SIEM_RETENTION_DAYS; and states the retention in force (for the compliance reports).

ISM counts an index's age from its creation, which is wrong for data backfilled late; the suite names
each daily index by event date and enforces the same ages (from the ISM policy's settings) by that date.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project.cluster import ISM_PLUGIN, installed_plugins
from dagster_project.security import audit
from dagster_project.security.actor import actor
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import ism_policy_with_ages, load_artifacts

log = logging.getLogger(__name__)


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
    client: OpenSearch, retention: RetentionSettings, *, today: date | None = None, dry_run: bool = False
) -> list[RetentionAction]:
    """Apply the retention schedule to every dated siem index; returns one action per index."""
    today = today or datetime.now(UTC).date()
    actions: list[RetentionAction] = []
    for dated in dated_indices(client, f"{naming.events_pattern()},{naming.quarantine_pattern()}"):
        index, day = dated.name, dated.day
        age = (today - day).days
        if age >= retention.retention_days:
            if not dry_run:
                client.indices.delete(index=index)
                audit.record(
                    client,
                    "retention.delete",
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
    return actions


def as_dicts(actions: list[RetentionAction]) -> list[dict[str, object]]:
    """Actions as plain data for --json and metadata."""
    return [asdict(a) for a in actions]
