"""The security plugin's configuration applied from security/: action groups, roles, role mappings, users."""

import dagster as dg

from dagster_project.resources import OpenSearchResource
from dagster_project.security.roles import apply_roles
from dagster_project.storage.bootstrap import record_changes
from dagster_project.storage.changes import as_dicts, counts


@dg.asset(group_name="security", kinds={"opensearch"})
def security_roles(context: dg.AssetExecutionContext, opensearch: OpenSearchResource) -> dg.MaterializeResult:
    """Action groups, roles, role mappings and users (with SIEM_*_PASSWORD set) applied from security/."""
    with opensearch.client() as client:
        changes = apply_roles(client)
        record_changes(client, changes)
    tally = counts(changes)
    context.log.info("security: %s", tally)
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in tally.items()},
            "changes": dg.MetadataValue.json(as_dicts(changes)),
        }
    )


SECURITY_ASSETS = [security_roles]
