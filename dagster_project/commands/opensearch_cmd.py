"""`siem opensearch up | down | status`: the embedded local node, or status of OPENSEARCH_URL."""

from __future__ import annotations

import click

from dagster_project.client import client_from_env
from dagster_project.cluster import cluster_status
from dagster_project.commands.shared import emit
from dagster_project.node import lifecycle
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url


@click.group()
def opensearch() -> None:
    """Manage the embedded local OpenSearch node (ignored when OPENSEARCH_URL names another cluster)."""


_SECURE_HELP = (
    "The secure node (SIEM_HOME/secure, SIEM_OPENSEARCH_SECURE_PORT): security plugin, TLS with the suite's "
    "own CA, users from SIEM_*_PASSWORD (SIEM_ADMIN_PASSWORD required), audit log."
)


@opensearch.command()
@click.option("--strict", is_flag=True, help="Fail when any plugin in distribution.json cannot be downloaded.")
@click.option("--secure", is_flag=True, help=_SECURE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def up(strict: bool, secure: bool, as_json: bool) -> None:
    """Download what is missing, install, start the node and wait until it is healthy."""
    connection = ConnectionSettings()
    settings = NodeSettings()
    target = lifecycle.target_for(settings, secure=secure)
    if connection.url and connection.url != target.url:
        emit({"url": connection.url, "external": True}, as_json, f"OPENSEARCH_URL={connection.url}: nothing to start")
        return
    if not as_json:
        click.echo(
            f"starting OpenSearch under {target.layout.home} (first run downloads from Maven Central)...",
            err=True,
        )
    result = lifecycle.up(settings, strict=strict, secure=secure)
    if result.already_up:
        text = f"OpenSearch {result.version} is already up at {result.url}"
    else:
        text = f"OpenSearch {result.version} is up at {result.url} ({result.seconds:.1f}s)"
    if result.secure:
        text += (
            f"\nCA certificate: {result.ca_certs}\n"
            f"connect with: OPENSEARCH_URL={result.url} OPENSEARCH_CA_CERTS={result.ca_certs} "
            'OPENSEARCH_USER=admin OPENSEARCH_PASSWORD="$SIEM_ADMIN_PASSWORD"'
        )
    for name, reason in result.unavailable_plugins.items():
        click.echo(f"warning: plugin {name} not installed: {reason}", err=True)
    emit(lifecycle.as_dict(result), as_json, text)


@opensearch.command()
@click.option("--secure", is_flag=True, help="Stop the secure node instead of the plain one.")
def down(secure: bool) -> None:
    """Stop the node that `up` started (by its pid; nothing else is touched)."""
    if lifecycle.down(NodeSettings(), secure=secure):
        click.echo("OpenSearch stopped")
    else:
        click.echo("no node started by this suite is running")


@opensearch.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Health, version and installed plugins of the cluster (OPENSEARCH_URL or the local node)."""
    settings = NodeSettings()
    url = effective_url(ConnectionSettings(), settings)
    client = client_from_env()
    try:
        data = cluster_status(client, url)
    finally:
        client.close()
    recorded = lifecycle.state(settings)
    if url == lifecycle.target_for(settings, secure=True).url:
        recorded = lifecycle.state(settings, secure=True)
    elif url != settings.url:
        recorded = {}
    if recorded:
        data["unavailable_plugins"] = recorded.get("unavailable_plugins", {})
    text = "\n".join(
        [
            f"url:      {data['url']}",
            f"health:   {data['status']}",
            f"version:  {data['version']}",
            f"plugins:  {', '.join(data['plugins']) or '(none)'}",
        ]
        + [f"missing:  {name} ({why})" for name, why in data.get("unavailable_plugins", {}).items()]
    )
    emit(data, as_json, text)
