"""The analysts' saved objects (dashboards/*.ndjson), imported into OpenSearch Dashboards when configured."""

from collections.abc import Iterator

import dagster as dg

from dagster_project.dashboards.deploy import deploy
from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.resources import DashboardsResource, OpenSearchResource


@dg.asset(group_name="dashboards", kinds={"opensearch"}, output_required=False)
def dashboard_saved_objects(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource, dashboards: DashboardsResource
) -> Iterator[dg.MaterializeResult]:
    """Index patterns, saved searches, visualisations and dashboards, imported into OpenSearch Dashboards."""
    settings = dashboards.settings()
    if not settings.url:
        context.log.warning("OPENSEARCH_DASHBOARDS_URL is not set: no Dashboards to import into, skipped")
        return
    connection = opensearch.settings()
    objects = load_saved_objects()
    result = deploy(
        settings.url,
        user=connection.user,
        password=connection.password.get_secret_value(),
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        timeout=settings.timeout,
        objects=objects,
    )
    yield dg.MaterializeResult(
        metadata={
            "url": dg.MetadataValue.url(result.url),
            "imported": dg.MetadataValue.int(result.count),
            "by_type": dg.MetadataValue.json(result.imported),
            "dashboards": dg.MetadataValue.json(sorted(o.title for o in objects if o.type == "dashboard")),
        }
    )


DASHBOARD_ASSETS = [dashboard_saved_objects]
