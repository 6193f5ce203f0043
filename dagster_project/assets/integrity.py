"""Hourly signed digest of every source's integrity chain head (Ed25519), and a daily self-verification."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from dagster_project.errors import ConfigurationError
from dagster_project.integrity.signing import sign_heads
from dagster_project.integrity.verify import verify
from dagster_project.resources import OpenSearchResource, SigningKeyResource


@dg.asset(group_name="integrity", kinds={"opensearch"})
def integrity_digest(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource, signing_key: SigningKeyResource
) -> dg.MaterializeResult:
    """A signed digest over the chain heads of every source (needs SIEM_SIGNING_KEY_FILE)."""
    key = signing_key.private_key()
    with opensearch.client() as client:
        digest = sign_heads(client, key)
    context.log.info("signed %d heads", len(digest["heads"]))
    return dg.MaterializeResult(
        metadata={
            "digest": digest["digest"],
            "key_id": digest["key_id"],
            "heads": dg.MetadataValue.json(digest["heads"]),
        }
    )


@dg.asset_check(
    asset=integrity_digest, description="Yesterday and today verify clean: no modified, deleted or injected events."
)
def integrity_verifies(opensearch: OpenSearchResource, signing_key: SigningKeyResource) -> dg.AssetCheckResult:
    """Recompute the chains for the last two days."""
    end = datetime.now(UTC) + timedelta(hours=1)
    with opensearch.client() as client:
        report = verify(client, end - timedelta(days=2), end, signing_key.public_key())
    data = report.as_json()
    return dg.AssetCheckResult(
        passed=report.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "checked": data["checked"],
            "modified": len(report.modified),
            "deleted": len(report.deleted),
            "injected": len(report.injected),
            "bad_signatures": len(report.bad_signatures),
            "samples": dg.MetadataValue.json(
                {k: data[k][:10] for k in ("modified", "deleted", "injected", "bad_signatures")}
            ),
        },
    )


@dg.schedule(
    name="hourly_integrity_signing",
    target=dg.AssetSelection.assets(integrity_digest),
    cron_schedule="5 * * * *",  # every SIGNING_INTERVAL (integrity.signing), which the reports hold it to
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Signs the chain heads every hour; skips, saying why, while no signing key is configured.",
)
def hourly_signing_schedule(
    context: dg.ScheduleEvaluationContext, signing_key: SigningKeyResource
) -> dg.RunRequest | dg.SkipReason:
    """One signing run per hour when a key is configured (on by default: the reports call late signing a gap)."""
    try:
        signing_key.private_key()
    except ConfigurationError as exc:
        return dg.SkipReason(f"not signing: {exc}")
    moment = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
    return dg.RunRequest(run_key=f"integrity-signing:{moment:%Y-%m-%dT%H}")
