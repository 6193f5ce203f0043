"""`siem ingest --source NAME PATH... [--json]`: stream files into OpenSearch, quarantine rejects, reconcile."""

from __future__ import annotations

import json
import sys

import click
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthorizationException
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

from dagster_project.client import opened_client
from dagster_project.errors import IngestError
from dagster_project.ingest.pipeline import ingest, input_files
from dagster_project.sources.registry import parser_factory, source_names
from dagster_project.storage import naming


@click.command("ingest")
@click.option("--source", "source", required=True, help=f"One of: {', '.join(source_names())}.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one summary object instead of a progress bar.")
def ingest_command(source: str, paths: tuple[str, ...], as_json: bool) -> None:
    """Ingest files (plain or .gz; directories are walked) as one source; exit 0 when the run reconciles."""
    parser_factory(source)
    files = input_files(list(paths))
    total = sum(f.size for f in files)
    with opened_client() as client:
        try:
            client.info()
        except OpenSearchConnectionError as exc:
            raise IngestError(
                "cluster unreachable (is `siem opensearch up` running, or OPENSEARCH_URL right?)", where=str(exc.info)
            ) from exc
        template = naming.events_family(source)
        if not _template_present(client, template):
            raise IngestError(
                f"index template {template} is not on the cluster: run `siem bootstrap` first "
                "(without it the events would be stored with guessed mappings that rules and dashboards cannot use)",
                where=template,
            )
        if as_json or not sys.stderr.isatty():
            summary = ingest(client, source, list(paths))
        else:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task(f"ingest {source}", total=total)
                summary = ingest(client, source, list(paths), progress=lambda done: bar.update(task, completed=done))
    data = summary.as_json()
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(
        f"{source}: {summary.files} files, read {summary.read}, indexed {summary.indexed}, "
        f"quarantined {summary.quarantined}, duplicates {summary.duplicates} in {summary.seconds:.1f}s"
    )
    for reason, count in sorted(summary.reasons.items(), key=lambda kv: -kv[1])[:10]:
        click.echo(f"  quarantined {count:>7}  {reason}")


def _template_present(client: OpenSearch, template: str) -> bool:
    """False when the source's index template is missing; True too when the user may not read templates (the
    least-privileged ingest role): the check then falls to whoever bootstraps."""
    try:
        return bool(client.indices.exists_index_template(name=template))
    except AuthorizationException:
        return True
