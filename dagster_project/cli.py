"""The `siem` command line: node management, bootstrap, ingestion, detection, quality, reports, demo."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from dagster_project.errors import SiemError


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print `data` as one JSON object, or `text` for a person."""
    if as_json:
        click.echo(json.dumps(data, default=str, sort_keys=False))
    else:
        click.echo(text)


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """An OpenSearch-backed SIEM: collect, store, check, detect, show and report."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # opensearch-py logs every failed request with a traceback; the CLI reports failures itself.
    logging.getLogger("opensearch").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)


def main() -> None:
    """Entry point: run the CLI and turn suite errors into one-line messages and exit code 2."""
    from dagster_project import commands  # noqa: F401  (registers the sub-commands)

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
