"""`siem serve`: the receivers, the Dagster daemon and the Dagster webserver as one supervised process group."""

from __future__ import annotations

import json
import logging
import sys

import click

from dagster_project.collect.config import ReceiverConfig
from dagster_project.collect.supervisor import Supervisor


@click.command("serve")
@click.option("--syslog-udp", metavar="HOST:PORT", help="Overrides SIEM_SYSLOG_UDP.")
@click.option("--syslog-tcp", metavar="HOST:PORT", help="Overrides SIEM_SYSLOG_TCP.")
@click.option("--syslog-tls", metavar="HOST:PORT", help="Overrides SIEM_SYSLOG_TLS.")
@click.option("--http", "http_listen", metavar="HOST:PORT", help="Overrides SIEM_HTTP_LISTEN.")
@click.option("--source", "syslog_source", metavar="NAME", help="The source every syslog listener feeds.")
@click.option("--webserver", default="127.0.0.1:3000", show_default=True, metavar="HOST:PORT")
@click.option("--no-webserver", is_flag=True, help="Do not start the Dagster webserver.")
@click.option("--no-daemon", is_flag=True, help="Receivers only (no Dagster daemon: nothing ingests the spool).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object once everything listens.")
def serve_command(
    syslog_udp: str | None,
    syslog_tcp: str | None,
    syslog_tls: str | None,
    http_listen: str | None,
    syslog_source: str | None,
    webserver: str,
    no_webserver: bool,
    no_daemon: bool,
    as_json: bool,
) -> None:
    """Receive syslog and HTTP into the spool; Dagster ingests it. Stops cleanly on SIGTERM or Ctrl-C."""
    overrides: dict[str, str] = {
        key: value
        for key, value in (
            ("syslog_udp", syslog_udp),
            ("syslog_tcp", syslog_tcp),
            ("syslog_tls", syslog_tls),
            ("http_listen", http_listen),
        )
        if value is not None
    }
    if syslog_source:
        overrides |= {f"syslog_{t}_source": syslog_source for t in ("udp", "tcp", "tls")}
    config = ReceiverConfig.from_environment(**overrides)
    listeners = config.listeners()
    logging.getLogger("dagster_project.collect").setLevel(logging.INFO)
    supervisor = Supervisor(config, listeners, daemon=not no_daemon, webserver=None if no_webserver else webserver)
    supervisor.start()
    described = supervisor.describe()
    if as_json:
        click.echo(json.dumps(described))
    else:
        if not listeners:
            click.echo("no listener configured (SIEM_SYSLOG_UDP/TCP/TLS, SIEM_HTTP_LISTEN or --syslog-*/--http)")
        for item in described["listeners"]:
            target = f"http://{item['address']}/v1/logs/<source>" if item["name"] == "http" else item["address"]
            click.echo(f"  {item['name']:18} {target}  -> {item['source']}")
        click.echo(f"  spool              {described['spool']}")
        for name, pid in described["children"].items():
            extra = f"  {described['dagster_webserver']}" if name == "dagster-webserver" else ""
            click.echo(f"  {name:18} pid {pid}{extra}")
        click.echo("siem serve: running (Ctrl-C or SIGTERM stops everything cleanly)")
    sys.stdout.flush()
    sys.exit(supervisor.run())
