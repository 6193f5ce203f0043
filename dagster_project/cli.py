"""The `siem` command line: node management, bootstrap, ingestion, detection, quality, reports, demo.

Each sub-command lives in `commands/<name>_cmd.py` and knows nothing of this module; this module
assembles them into one group and turns suite errors into one-line messages.
"""

from __future__ import annotations

import logging
import sys

import click

from dagster_project.commands import (
    alerts_cmd,
    bootstrap_cmd,
    collect_cmd,
    dashboards_cmd,
    demo_cmd,
    detect_cmd,
    ingest_cmd,
    integrity_cmd,
    opensearch_cmd,
    quality_cmd,
    report_cmd,
    retention_cmd,
    serve_cmd,
    verify_cmd,
)
from dagster_project.errors import SiemError

COMMANDS: tuple[click.Command, ...] = (
    opensearch_cmd.opensearch,
    bootstrap_cmd.bootstrap_command,
    ingest_cmd.ingest_command,
    retention_cmd.retention_command,
    detect_cmd.detect_command,
    alerts_cmd.alerts_group,
    verify_cmd.verify_command,
    integrity_cmd.integrity_group,
    quality_cmd.quality_command,
    report_cmd.report_command,
    dashboards_cmd.dashboards_group,
    serve_cmd.serve_command,
    collect_cmd.collect_group,
    demo_cmd.demo_command,
)
"""Every sub-command of `siem`; the module of each is named after it."""


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """An OpenSearch-backed SIEM: collect, store, check, detect, show and report."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # opensearch-py logs every failed request with a traceback; the CLI reports failures itself.
    logging.getLogger("opensearch").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Entry point: run the CLI and turn suite errors into one-line messages and exit code 2."""
    try:
        cli(standalone_mode=False)
    except SiemError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
