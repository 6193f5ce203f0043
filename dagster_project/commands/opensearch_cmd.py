"""`siem opensearch up | down | status`: the embedded local cluster, or status of OPENSEARCH_URL."""

from __future__ import annotations

import click

from dagster_project.client import client_from_env
from dagster_project.cluster import cluster_status
from dagster_project.commands.shared import emit
from dagster_project.node import lifecycle
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url, url_list
from dagster_project.storage import naming


@click.group()
def opensearch() -> None:
    """Manage the embedded local OpenSearch cluster (ignored when OPENSEARCH_URL names another cluster)."""


_SECURE_HELP = (
    "The secure node (SIEM_HOME/secure, SIEM_OPENSEARCH_SECURE_PORT): security plugin, TLS with the suite's "
    "own CA, users from SIEM_*_PASSWORD (SIEM_ADMIN_PASSWORD required), audit log."
)


_NODES_HELP = (
    "How many local nodes form the cluster (default SIEM_OPENSEARCH_NODES, else as many as last time, else 1); "
    "only the nodes not running are started."
)


@opensearch.command()
@click.option("--nodes", type=click.IntRange(min=1), default=None, help=_NODES_HELP)
@click.option("--strict", is_flag=True, help="Fail when any plugin in distribution.json cannot be downloaded.")
@click.option("--secure", is_flag=True, help=_SECURE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def up(nodes: int | None, strict: bool, secure: bool, as_json: bool) -> None:
    """Download what is missing, install, start the nodes and wait until the cluster is healthy."""
    connection = ConnectionSettings()
    settings = NodeSettings()
    target = lifecycle.target_for(settings, secure=secure, nodes=None if secure else nodes)
    if connection.url and not set(url_list(connection.url)) <= set(target.urls):
        emit({"url": connection.url, "external": True}, as_json, f"OPENSEARCH_URL={connection.url}: nothing to start")
        return
    if not as_json:
        click.echo(
            f"starting OpenSearch under {target.layout.home} (first run downloads from Maven Central)...",
            err=True,
        )
    result = lifecycle.up(settings, strict=strict, secure=secure, nodes=nodes)
    where = result.url if len(result.urls) < 2 else ",".join(result.urls)
    if result.already_up:
        text = f"OpenSearch {result.version} is already up at {where}"
    else:
        text = f"OpenSearch {result.version} is up at {where} ({result.seconds:.1f}s)"
    if result.started and len(result.urls) > 1:
        text += f"\nstarted: {', '.join(result.started)}\nconnect with: OPENSEARCH_URL={','.join(result.urls)}"
    if result.secure:
        text += (
            f"\nCA certificate: {result.ca_certs}\n"
            f"connect with: OPENSEARCH_URL={result.url} OPENSEARCH_CA_CERTS={result.ca_certs} "
            'OPENSEARCH_USER=admin OPENSEARCH_PASSWORD="$SIEM_ADMIN_PASSWORD"'
        )
    for name, reason in result.unavailable_plugins.items():
        click.echo(f"warning: plugin {name} not installed: {reason}", err=True)
    emit(lifecycle.as_dict(result), as_json, text)


_NODE_HELP = f"Stop only this node (e.g. {naming.node_name(2)}); `up` starts it again."


@opensearch.command()
@click.option("--secure", is_flag=True, help="Stop the secure node instead of the plain cluster.")
@click.option("--node", "node", default=None, help=_NODE_HELP)
def down(secure: bool, node: str | None) -> None:
    """Stop the nodes that `up` started (by their pids; nothing else is touched)."""
    if lifecycle.down(NodeSettings(), secure=secure, node=node):
        click.echo(f"OpenSearch stopped{f' ({node})' if node else ''}")
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
    elif not set(url_list(url)) <= set(lifecycle.target_for(settings).urls):
        recorded = {}
    if recorded:
        data["unavailable_plugins"] = recorded.get("unavailable_plugins", {})
    text = "\n".join(
        [
            f"url:      {data['url']}",
            f"health:   {data['status']}",
            f"version:  {data['version']}",
            f"plugins:  {', '.join(data['plugins']) or '(none)'}",
            f"modules:  {', '.join(data['modules']) or '(none)'}",
        ]
        + [f"missing:  {name} ({why})" for name, why in data.get("unavailable_plugins", {}).items()]
        + [
            f"node:     {n['name']} http {n['http']} transport {n['transport']} pid {n['pid']}"
            + (" (cluster manager)" if n["cluster_manager"] else "")
            for n in data["nodes"]
        ]
    )
    emit(data, as_json, text)
