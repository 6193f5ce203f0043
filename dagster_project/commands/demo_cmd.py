"""`siem demo`: the node, templates, each source's samples (its spec's `samples`) ingested, and where to look next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dagster_project.client import opened_client
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import hunt
from dagster_project.detection.notifications import notify
from dagster_project.ingest.pipeline import ingest
from dagster_project.integrity import keys
from dagster_project.integrity.signing import sign_heads
from dagster_project.node import lifecycle
from dagster_project.quality.runner import check_partition
from dagster_project.reports.frameworks import load_framework
from dagster_project.reports.model import STATUS_LABELS, Period
from dagster_project.reports.produce import produce_report
from dagster_project.settings import (
    ConnectionSettings,
    FolderSettings,
    NodeSettings,
    RetentionSettings,
    SigningSettings,
    effective_url,
)
from dagster_project.sources.registry import specs
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from dagster_project.storage.retention import enforce_retention

DEMO_RETENTION = RetentionSettings(retention_days=20_000, hot_days=7_300)
"""The samples date from 2005-2023: the demo keeps them by giving itself a retention that covers them."""


def samples_dir() -> Path:
    """SIEM_SAMPLES_DIR, else ../shared/data beside the checkout."""
    configured = FolderSettings().samples_dir
    if configured:
        return configured
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class DemoInput:
    """One source's samples as found under the samples folder."""

    source: str
    files: list[Path]
    unmatched: list[str]
    """Patterns of the source's spec that match no file (reported, not fatal)."""


def demo_inputs(root: Path) -> list[DemoInput]:
    """What `siem demo` ingests: the files matching each source spec's `samples`, for every source with some."""
    inputs = []
    for spec in specs():
        if not spec.samples:
            continue
        files = sorted({path for pattern in spec.samples for path in root.glob(pattern) if path.is_file()})
        unmatched = [pattern for pattern in spec.samples if not any(root.glob(pattern))]
        inputs.append(DemoInput(spec.name, files, unmatched))
    return inputs


@click.command("demo")
def demo_command() -> None:
    """Bring the node up, bootstrap, ingest the bundled samples and print where things are."""
    connection = ConnectionSettings()
    node = NodeSettings()
    if not connection.url:
        result = lifecycle.up(node)
        click.echo(
            f"OpenSearch {result.version}: {result.url} "
            f"({'already up' if result.already_up else f'started in {result.seconds:.0f}s'})"
        )
    url = effective_url(connection, node)
    root = samples_dir()
    inputs = demo_inputs(root)
    partition = datetime.now(UTC).strftime("%Y-%m-%d")
    out_dir = FolderSettings().demo_out.resolve()
    with opened_client() as client:
        changes = bootstrap(client, DEMO_RETENTION)
        click.echo(f"bootstrap: {sum(c.action != 'unchanged' for c in changes)} changed, {len(changes)} artefacts")
        click.echo(f"retention for the demo: {DEMO_RETENTION.retention_days} days (the samples are years old)")
        for item in inputs:
            for pattern in item.unmatched:
                click.echo(f"  no sample matches {root / pattern}", err=True)
            if not item.files:
                continue
            summary = ingest(
                client, item.source, item.files, retention=DEMO_RETENTION, refresh=True, partition=partition
            )
            click.echo(
                f"  {item.source:11} read {summary.read:>6}  indexed {summary.indexed:>6}  "
                f"quarantined {summary.quarantined:>5}  duplicates {summary.duplicates:>6}  ({summary.seconds:.1f}s)"
            )
        click.echo("data quality (today's partition):")
        for item in inputs:
            results = check_partition(client, item.source, partition, retention=DEMO_RETENTION, refresh=True)
            failed = [r.check for r in results if not r.passed]
            click.echo(f"  {item.source:11} {len(results) - len(failed)}/{len(results)} checks passed {failed or ''}")
        hunted = hunt(client, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1))
        alerts = raise_alerts(client, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1))
        delivery = notify(client, alerts, events_url=effective_url(connection, node))
        click.echo(f"detection: {hunted.findings} findings from {sum(r.findings > 0 for r in hunted.rules)} rules")
        for rule in sorted(hunted.rules, key=lambda r: -r.findings)[:8]:
            if rule.findings:
                click.echo(f"  {rule.findings:>5}  {rule.level:13} {rule.title}")
        click.echo(
            f"alerts: {len(alerts)} ({sum(a.created for a in alerts)} new; delivered: webhook {delivery.webhook}, "
            f"email {delivery.email})"
        )
        actions = enforce_retention(client, DEMO_RETENTION)
        click.echo(f"retention: {sum(a.action == 'deleted' for a in actions)} of {len(actions)} daily indices deleted")
        key, whose = _signing_key()
        digest = sign_heads(client, key)
        click.echo(f"integrity: chain heads of {len(digest['heads'])} sources signed with {whose}")
        first, last = _event_span(client)
        produced = produce_report(
            client,
            load_framework("pci-dss"),
            Period.from_dates(first, last),
            out_dir / "pci-dss",
            retention=DEMO_RETENTION,
            public_key=key.public_key(),
        )
        counts_by_status = produced.data.status_counts()
        click.echo(
            f"PCI DSS report {first:%Y-%m-%d}..{last:%Y-%m-%d}: {counts_by_status['evidence_present']} controls with "
            f"evidence, {counts_by_status['gap']} gaps -> {produced.files['report.pdf']}"
        )
        for control in produced.data.controls:
            if control.id == "10.3.4":
                click.echo(f"  10.3.4 {STATUS_LABELS[control.status]}: {'; '.join(control.reasons)}")
        counts = client.cat.indices(index=naming.all_pattern(), format="json", h="index,docs.count")
    families: dict[str, int] = {}
    for row in counts:
        family = row["index"].rsplit("-", 1)[0] if row["index"][-10:-6].isdigit() else row["index"]
        families[family] = families.get(family, 0) + int(row["docs.count"] or 0)
    click.echo("\nWhere things are:")
    click.echo(f"  OpenSearch          {url}  (siem opensearch status)")
    for family, count in sorted(families.items()):
        click.echo(f"  {family:32} {count:>8} documents")
    click.echo(f"  Reports             {out_dir}")
    click.echo("  Dagster UI          .venv/bin/dagster dev  ->  http://127.0.0.1:3000")
    click.echo("  Dashboards          docs/dashboards.md (siem dashboards deploy with OPENSEARCH_DASHBOARDS_URL)")
    click.echo(f"  Search events       curl '{url}/{naming.events_alias()}/_search?q=event.outcome:failure'")
    click.echo("\nCollect live logs:")
    click.echo("  .venv/bin/siem serve --syslog-tcp 127.0.0.1:5514 --syslog-udp 127.0.0.1:5514 --http 127.0.0.1:8088")
    click.echo(
        "  logger --tcp --octet-count -n 127.0.0.1 -P 5514 -t sshd "
        "'Failed password for root from 203.0.113.9 port 22 ssh2'"
    )
    click.echo("  .venv/bin/siem collect status     # received, spooled, ingested")


def _signing_key() -> tuple[Ed25519PrivateKey, str]:
    """The configured signing key, else a demo key kept in SIEM_HOME (made once), and which one it is."""
    settings = SigningSettings()
    if settings.key.get_secret_value() or settings.key_file:
        return keys.private_key(settings), "the configured key"
    folder = NodeSettings().home / "demo-signing"
    path = folder / naming.SIGNING_KEY_FILE
    if not path.exists():
        keys.generate(folder)
    return keys.private_key(SigningSettings.from_text({"key_file": str(path)})), f"a demo key ({path})"


def _event_span(client) -> tuple[datetime, datetime]:  # type: ignore[no-untyped-def]
    """First and last event day in the suite's indices."""
    aggs = client.search(
        index=naming.events_pattern(),
        body={"size": 0, "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}},
    )["aggregations"]
    first = datetime.fromtimestamp(aggs["first"]["value"] / 1000, UTC)
    last = datetime.fromtimestamp(aggs["last"]["value"] / 1000, UTC)
    return first, last
