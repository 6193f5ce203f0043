"""Every Dagster resource the code location wires, with default settings and nothing read from the environment.

Tests configure assets by passing resources (`suite_resources(url, smtp=SmtpResource(host=...))`), never by
setting environment variables; the keys and classes are the definitions' own, so they cannot drift.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.definitions import RESOURCES
from dagster_project.resources import OpenSearchResource


def suite_resources(opensearch_url: str = "", **overrides: dg.ConfigurableResource) -> dict[str, object]:
    """The definitions' resources, defaults everywhere, the cluster at `opensearch_url`, and `overrides`."""
    unknown = set(overrides) - set(RESOURCES)
    assert not unknown, f"no such resource in the definitions: {sorted(unknown)}"
    resources: dict[str, object] = {key: type(resource)() for key, resource in RESOURCES.items()}
    resources["opensearch"] = OpenSearchResource(url=opensearch_url)
    resources.update(overrides)
    return resources
