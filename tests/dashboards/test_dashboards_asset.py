"""The Dagster asset: imports the saved objects when OPENSEARCH_DASHBOARDS_URL is set, else skips."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets.dashboards import DASHBOARD_ASSETS, dashboard_saved_objects
from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.resources import DashboardsResource, OpenSearchResource
from tests.dashboards.fake_dashboards import FakeDashboards, running
from tests.resources import suite_resources


def test_the_asset_imports_every_object() -> None:
    with running(FakeDashboards()) as dashboards:
        result = dg.materialize(
            DASHBOARD_ASSETS,
            resources={
                "opensearch": OpenSearchResource(user="analyst", password="pw"),
                "dashboards": DashboardsResource(url=dashboards.url),
            },
        )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("dashboard_saved_objects")
    assert materialization.metadata["imported"].value == len(load_saved_objects())
    assert materialization.metadata["url"].value == dashboards.url
    assert "SIEM: SOC overview" in materialization.metadata["dashboards"].value
    (request,) = dashboards.received
    assert request.headers["authorization"].startswith("Basic ")


def test_without_a_dashboards_url_the_asset_is_skipped() -> None:
    result = dg.materialize([dashboard_saved_objects], resources=suite_resources())
    assert result.success
    assert result.asset_materializations_for_node("dashboard_saved_objects") == []
