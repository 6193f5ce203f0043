"""The Dagster side of ingestion: a partition materialises from the landing directory; the sensor asks for runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from dagster_project.assets.ingestion import INGESTION_ASSETS, LANDING_SENSORS
from dagster_project.assets.storage import index_templates
from dagster_project.resources import LandingResource, RetentionResource
from dagster_project.storage import naming
from tests.resources import suite_resources

pytestmark = pytest.mark.live

LINE = "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Failed password for root from 85.245.107.41 port {port} ssh2\n"


def _asset(name: str) -> dg.AssetsDefinition:
    return next(a for a in INGESTION_ASSETS if a.key.to_user_string() == name)


def test_partition_materialises_with_reconciled_metadata(
    clean_siem: OpenSearch, opensearch_url: str, tmp_path: Path
) -> None:
    day = tmp_path / "linux-auth" / "2026-11-27"
    day.mkdir(parents=True)
    (day / "auth.log").write_text("".join(LINE.format(port=p) for p in range(10)) + "garbage line\n")
    (tmp_path / "linux-auth" / "2026-11-26").mkdir()
    (tmp_path / "linux-auth" / "2026-11-26" / "other.log").write_text(LINE.format(port=99))
    resources = suite_resources(opensearch_url, retention=RetentionResource(retention_days="20000"))
    config = dg.RunConfig(ops={"linux_auth_events": {"config": {"landing_dir": str(tmp_path)}}})
    result = dg.materialize(
        [index_templates, _asset("linux_auth_events")],
        partition_key="2026-11-27",
        resources=resources,
        run_config=config,
        selection=[_asset("linux_auth_events").key, index_templates.key],
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("linux_auth_events")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert (metadata["files"], metadata["read"], metadata["indexed"], metadata["quarantined"]) == (1, 11, 10, 1)
    assert (
        clean_siem.count(
            index=naming.events_pattern("linux-auth"), body={"query": {"term": {"siem.partition": "2026-11-27"}}}
        )["count"]
        == 10
    )
    again = dg.materialize(
        [_asset("linux_auth_events")], partition_key="2026-11-27", resources=resources, run_config=config
    )
    (second,) = again.asset_materializations_for_node("linux_auth_events")
    assert second.metadata["indexed"].value == 0 and second.metadata["duplicates"].value == 11


def test_sensor_requests_one_run_per_partition_with_new_files(tmp_path: Path) -> None:
    sensor = next(s for s in LANDING_SENSORS if s.name == "linux_auth_landing_sensor")
    landing = {"landing": LandingResource(landing_dir=str(tmp_path))}
    for day in ("2026-11-26", "2026-11-27"):
        (tmp_path / "linux-auth" / day).mkdir(parents=True)
        (tmp_path / "linux-auth" / day / "auth.log").write_text(LINE.format(port=1))
    first = sensor(dg.build_sensor_context(cursor=None, resources=landing))
    assert sorted(r.partition_key for r in first.run_requests) == ["2026-11-26", "2026-11-27"]
    unchanged = sensor(dg.build_sensor_context(cursor=first.cursor, resources=landing))
    assert unchanged.run_requests == []
    (tmp_path / "linux-auth" / "2026-11-27" / "more.log").write_text(LINE.format(port=2))
    after = sensor(dg.build_sensor_context(cursor=first.cursor, resources=landing))
    assert [r.partition_key for r in after.run_requests] == ["2026-11-27"]
