"""`siem quality [--source S] [--date D] [--json]`: run and record data-quality checks of a partition."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.errors import NodeError
from dagster_project.quality.model import CheckResult
from dagster_project.quality.runner import check_partition
from dagster_project.quality.scope import parse_partition
from dagster_project.sources.registry import parser_factory, source_names


def _line(result: CheckResult) -> str:
    status = "ok  " if result.passed else "FAIL"
    if result.total is None:
        figures = "-"
    elif result.failing is None:
        figures = str(result.total)
    else:
        figures = f"{result.failing}/{result.total}"
    flag = "blocks" if result.blocks else ""
    line = f"{status} {result.severity.value:5} {result.source:11} {result.check:19} {figures:>15} {flag}"
    return line.rstrip()


@click.command("quality")
@click.option("--source", "source", default=None, help=f"One of: {', '.join(source_names())} (default: all).")
@click.option("--date", "day", default=None, help="Partition (arrival day) YYYY-MM-DD; default today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every check result.")
def quality_command(source: str | None, day: str | None, as_json: bool) -> None:
    """Run and record the data-quality checks of a partition; exit 1 if a blocking check fails with ERROR."""
    partition = day or datetime.now(UTC).date().isoformat()
    parse_partition(partition)
    sources = [source] if source else source_names()
    for name in sources:
        parser_factory(name)
    results: list[CheckResult] = []
    with opened_client() as client:
        try:
            client.info()
        except OpenSearchConnectionError as exc:
            raise NodeError(
                "cluster unreachable (is `siem opensearch up` running, or OPENSEARCH_URL right?)",
                where=str(exc.info),
            ) from exc
        for name in sources:
            results.extend(check_partition(client, name, partition))
    blocking = [f"{r.source}/{r.check}" for r in results if r.blocks]
    failed = [f"{r.source}/{r.check}" for r in results if not r.passed]
    data = {
        "partition": partition,
        "sources": sources,
        "passed": not blocking,
        "blocking_failures": blocking,
        "failures": failed,
        "results": [r.as_json() for r in results],
    }
    summary = f"{partition}: {len(results)} checks, {len(failed)} failed, {len(blocking)} blocking"
    if blocking:
        summary += f" ({', '.join(blocking)})"
    emit(data, as_json, "\n".join([*(_line(r) for r in results), summary]))
    if blocking:
        sys.exit(1)
