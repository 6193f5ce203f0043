"""The cluster itself as an asset: health, version and plugins, recorded on each materialisation."""

import dagster as dg

from dagster_project.cluster import cluster_status
from dagster_project.resources import OpenSearchResource


@dg.asset(group_name="platform", kinds={"opensearch"})
def opensearch_cluster(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Health, version and installed plugins of the OpenSearch cluster the suite writes to."""
    with opensearch.client() as client:
        status = cluster_status(client, opensearch.effective_url)
    context.log.info("cluster %s is %s", status["url"], status["status"])
    return dg.MaterializeResult(
        metadata={
            "url": dg.MetadataValue.url(status["url"]),
            "health": status["status"],
            "version": status["version"],
            "plugins": dg.MetadataValue.json(status["plugins"]),
        }
    )


@dg.asset_check(asset=opensearch_cluster, blocking=True)
def opensearch_cluster_is_healthy(opensearch: OpenSearchResource) -> dg.AssetCheckResult:
    """The cluster answers and is yellow or green."""
    with opensearch.client() as client:
        status = cluster_status(client, opensearch.effective_url)
    return dg.AssetCheckResult(
        passed=status["status"] in ("yellow", "green"),
        metadata={"health": status["status"], "nodes": status["number_of_nodes"]},
    )
