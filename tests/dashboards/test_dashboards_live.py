"""Live: every saved search and visualisation, rebuilt from its saved state, runs on the real node against
the shared samples (ingested as `siem demo` does, hunted, alerted, quality-checked and reported on) and
returns data, except the panels listed below with the reason the samples leave them empty."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.commands.demo_cmd import demo_inputs
from dagster_project.dashboards.fields import Field
from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.dashboards.translate import search_request, unanswered
from dagster_project.dashboards.validate import validate
from dagster_project.detection.alerts import raise_alerts, set_state
from dagster_project.detection.hunt import hunt
from dagster_project.ingest.pipeline import ingest
from dagster_project.quality.runner import check_partition
from dagster_project.reports.build import build_report
from dagster_project.reports.frameworks import load_framework
from dagster_project.reports.model import Period
from dagster_project.reports.record import write_record
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=7_300)
"""The samples date from 2005-2023; like `siem demo`, keep them all."""
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
NO_MFA = "the Stratus CloudTrail sample has one ConsoleLogin, and it used MFA (additionalEventData.MFAUsed Yes)"
NO_ROOT = "no CloudTrail record in the samples has userIdentity.type Root"
EMPTY_ON_THE_SAMPLES = {
    naming.in_namespace(saved_object): reason
    for saved_object, reason in {
        "siem-vis-cis-aws-4-2": NO_MFA,
        "siem-vis-cis-aws-4-3": NO_ROOT,
        "siem-vis-cis-aws-4-6": "the one ConsoleLogin in the samples succeeded; no console sign-in failed",
        "siem-vis-cis-aws-4-7": "no KMS DisableKey or ScheduleKeyDeletion call in the samples",
        "siem-vis-cis-aws-4-9": "no AWS Config (config.amazonaws.com) call in the samples",
        "siem-vis-cis-aws-4-11": "no network ACL created, changed or deleted in the samples",
        "siem-vis-aws-root-activity": NO_ROOT,
        "siem-vis-aws-console-signin-without-mfa": NO_MFA,
        "siem-vis-pipeline-failed-checks": "the samples pass every data-quality check (required fields follow the "
        "kind of event, and a line the log repeats is no duplicate)",
    }.items()
}
"""Saved-object ids (as written in dashboards/, translated into the test namespace) -> why they are empty."""


@pytest.fixture(scope="module")
def samples(opensearch_client: OpenSearch, shared_data: Path) -> Iterator[OpenSearch]:
    """The demo samples ingested, hunted over and alerted on, one alert acknowledged, checked and reported.

    Module-scoped: loading the samples takes about a minute and both tests only read them. The suite's
    indices are deleted before and after (bootstrap re-applies the templates).
    """
    client = opensearch_client
    _delete_suite_indices(client)
    bootstrap(client, RETENTION)
    partition = datetime.now(UTC).date().isoformat()
    for item in demo_inputs(shared_data):
        assert item.files and not item.unmatched, (
            f"{item.source}: no sample matches {item.unmatched} under {shared_data}"
        )
        summary = ingest(client, item.source, item.files, retention=RETENTION, refresh=True, partition=partition)
        assert summary.indexed > 0
        check_partition(client, item.source, partition, retention=RETENTION, refresh=True)
    hunt(client, *EVER)
    changes = raise_alerts(client, *EVER)
    assert changes, "the samples raise alerts"
    set_state(client, changes[0].id, "acknowledged", by="dashboards-live-test")
    july = Period.from_dates(datetime(2023, 7, 1, tzinfo=UTC), datetime(2023, 7, 31, tzinfo=UTC), "July 2023")
    for framework in ("cis-aws", "pci-dss"):
        data = build_report(
            client, load_framework(framework), july, retention=RETENTION, generated_at=datetime.now(UTC)
        )
        write_record(client, data, {}, [])
    client.indices.refresh(index=naming.all_pattern())
    yield client
    _delete_suite_indices(client)


def _delete_suite_indices(client: OpenSearch) -> None:
    client.indices.delete(
        index=naming.all_pattern(), ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all"
    )


def test_every_panel_and_search_returns_data_on_the_samples(samples: OpenSearch) -> None:
    objects = load_saved_objects()
    offenders: list[str] = []
    for obj in objects:
        if obj.type not in ("search", "visualization"):
            continue
        request = search_request(obj, objects, *EVER)
        response = samples.search(index=request.index, body=request.body)
        hits = response["hits"]["total"]["value"]
        if obj.type == "visualization":
            state = obj.json_attribute("visState")
            nothing = unanswered(state, response)
            every = len([a for a in state["aggs"] if a.get("enabled", True)])
        else:
            nothing, every = ([] if hits else ["hits"]), 1
        if obj.id in EMPTY_ON_THE_SAMPLES:
            if len(nothing) < every:
                offenders.append(f"{obj.id} is listed as empty but found {hits} hits: take it off the list")
        elif nothing:
            offenders.append(f"{obj.id} ({obj.title}) on {request.index}: {hits} hits, nothing for {nothing}")
    unknown = set(EMPTY_ON_THE_SAMPLES) - {o.id for o in objects}
    offenders += [f"{name} is listed as empty but no such object exists" for name in sorted(unknown)]
    assert offenders == []


def test_the_node_offers_every_field_as_the_templates_promise(samples: OpenSearch) -> None:
    """The hygiene validation again, with each pattern's fields from the node's `_field_caps` (what
    Dashboards reads); a pattern no sample fills (jsonl) gets an empty index so its template applies."""
    objects = load_saved_objects()
    for pattern in (o for o in objects if o.type == "index-pattern"):
        if not samples.indices.get(index=pattern.title, ignore_unavailable=True, allow_no_indices=True):
            samples.indices.create(index=pattern.title.replace("*", "2000.01.01"))
    offenders = validate(objects, fields_of=_field_caps(samples))
    assert offenders == []


def _field_caps(client: OpenSearch) -> Callable[[str], dict[str, Field]]:
    def fields_of(title: str) -> dict[str, Field]:
        caps = client.field_caps(index=title, fields="*", ignore_unavailable=True)["fields"]
        return {
            name: Field(
                name=name,
                types=frozenset(by_type),
                searchable=all(c["searchable"] for c in by_type.values()),
                aggregatable=all(c["aggregatable"] for c in by_type.values()),
            )
            for name, by_type in caps.items()
        }

    return fields_of
