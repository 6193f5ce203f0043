"""The Dagster side: the sensor asks once per batch of sealed segments; one run ingests, retires and detects."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from dagster_project.assets.collection import routed, sealed_segments_sensor, spool_events, spool_findings
from dagster_project.assets.storage import index_templates
from dagster_project.collect.spool import MESSAGES, SpoolWriter, encode_entry, pack_messages, sealed_segments
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.resources import RetentionResource, RulesResource, SpoolResource
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.collect.peers import RETENTION, Serve, env_for, wait_for
from tests.resources import suite_resources

pytestmark = pytest.mark.live
USERADD_RULE = "451200f6-d8e0-4578-a384-c78574de238f"
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
USERADD = "<86>{} web-01 useradd[750]: new user: name=backdoor{}, UID=1001, GID=1001, home=/home/b, shell=/bin/bash"


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """Templates applied, no siem data."""
    bootstrap(clean_siem, RETENTION)
    yield clean_siem


def spool_lines(root: Path, lines: list[str]) -> str:
    writer = SpoolWriter(root, segment_bytes=1 << 20, segment_seconds=60, max_bytes=1 << 26)
    header = {"t": time.time(), "p": "192.0.2.10:514", "l": "syslog-tcp", "s": "tcp:5514:192.0.2.10", "n": len(lines)}
    writer.append("linux-auth", encode_entry(MESSAGES, header, pack_messages([line.encode() for line in lines])))
    (segment_id,) = writer.seal_all()
    return segment_id


def now_stamp(offset: int = 0) -> str:
    return time.strftime("%b %e %H:%M:%S", time.gmtime(time.time() - offset))


def test_sensor_requests_each_sealed_segment_once(tmp_path: Path) -> None:
    first = spool_lines(tmp_path, ["<13>Dec  1 10:00:00 h app: one"])
    resource = SpoolResource(dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        result = sealed_segments_sensor(dg.build_sensor_context(instance=instance, resources={"spool": resource}))
        assert [r.run_key for r in result.run_requests] == [first]
        assert result.run_requests[0].run_config["ops"]["spool_events"]["config"]["segments"] == [first]
        again = sealed_segments_sensor(
            dg.build_sensor_context(instance=instance, cursor=result.cursor, resources={"spool": resource})
        )
        assert again.run_requests == []
        second, third = spool_lines(tmp_path, ["<13>x"]), spool_lines(tmp_path, ["<13>y"])
        later = sealed_segments_sensor(
            dg.build_sensor_context(instance=instance, cursor=again.cursor, resources={"spool": resource})
        )
        assert [r.run_key for r in later.run_requests] == [f"{second}..{third.rsplit('-', 1)[1]}"]


@dg.asset
def _ingested_elsewhere() -> None:
    """Stands for the run that ingested a segment of an earlier spool."""


def test_a_recreated_spool_whose_numbering_restarted_is_still_requested(tmp_path: Path) -> None:
    old_spool, new_spool = tmp_path / "old", tmp_path / "new"
    first = spool_lines(old_spool, ["<13>Dec  1 10:00:00 h app: one"])
    with dg.instance_for_test() as instance:
        ran = sealed_segments_sensor(
            dg.build_sensor_context(instance=instance, resources={"spool": SpoolResource(dir=str(old_spool))})
        )
        (request,) = ran.run_requests
        ingested = dg.materialize([_ingested_elsewhere], instance=instance, tags={"dagster/run_key": request.run_key})
        assert ingested.success  # a run under that key: the old spool's segment 1 was ingested
        again = spool_lines(new_spool, ["<13>Dec  1 10:00:01 h app: two"])  # a wiped spool numbers from 1 again
        assert again == first
        later = sealed_segments_sensor(
            dg.build_sensor_context(instance=instance, resources={"spool": SpoolResource(dir=str(new_spool))})
        )
        assert [r.run_key for r in later.run_requests] == [f"{first}#1"]  # a key Dagster has not seen


def test_one_run_ingests_retires_and_detects(siem: OpenSearch, opensearch_url: str, tmp_path: Path) -> None:
    lines = [USERADD.format(now_stamp(), i) for i in range(3)] + ["not syslog at all"]
    segment_id = spool_lines(tmp_path, lines)
    resources = suite_resources(
        opensearch_url, spool=SpoolResource(dir=str(tmp_path)), retention=RetentionResource(retention_days="20000")
    )
    default_resources = resources
    resources = {**resources, "rules": RulesResource(arrival="percolate")}
    config = dg.RunConfig(ops={"spool_events": {"config": {"segments": [segment_id]}}})
    result = dg.materialize(
        [index_templates, spool_events, spool_findings],
        resources=resources,
        run_config=config,
        selection=[spool_events.key, spool_findings.key],
    )
    assert result.success
    (ingested,) = result.asset_materializations_for_node("spool_events")
    meta = {k: v.value for k, v in ingested.metadata.items()}
    assert (meta["acknowledged"], meta["read"], meta["indexed"], meta["quarantined"]) == (4, 4, 3, 1)
    (detected,) = result.asset_materializations_for_node("spool_findings")
    assert detected.metadata["findings"].value >= 3
    assert (detected.metadata["runner"].value, detected.metadata["percolated_events"].value) == ("percolator", 3)
    assert detected.metadata["rules_stored"].value > 0 and detected.metadata["rules_refused"].value == {}
    assert sealed_segments(tmp_path) == []
    siem.indices.refresh(index=naming.findings_index())
    found = siem.search(index=naming.findings_index(), body={"query": {"term": {"rule.id": USERADD_RULE}}})
    assert found["hits"]["total"]["value"] == 3
    assert {hit["_source"]["runner"] for hit in found["hits"]["hits"]} == {"percolator"}
    # The hunt over the same events finds the same, under the same ids: it writes nothing new.
    linux = [pair for pair in select_rules() if routed(pair[0], "linux-auth")]
    hunted = hunt(siem, *EVER, rules=linux)
    assert hunted.findings == 0 and hunted.matched == detected.metadata["findings"].value
    rerun = dg.materialize([spool_events, spool_findings], resources=resources, run_config=config)
    (again,) = rerun.asset_materializations_for_node("spool_events")
    assert again.metadata["already_gone"].value == [segment_id] and again.metadata["read"].value == 0

    # The next batch finds the rules stored: registration is paid once per rule set, not per run.
    later = spool_lines(tmp_path, [USERADD.format(now_stamp(), "later")])
    config = dg.RunConfig(ops={"spool_events": {"config": {"segments": [later]}}})
    next_run = dg.materialize([spool_events, spool_findings], resources=resources, run_config=config)
    (detected,) = next_run.asset_materializations_for_node("spool_findings")
    assert detected.metadata["rules_stored"].value == 0
    assert (detected.metadata["findings"].value, detected.metadata["percolated_events"].value) == (1, 1)

    # By default (SIEM_RULE_ARRIVAL=hunt): the same batch path, every rule by the hunt.
    hunted_resources = default_resources
    last = spool_lines(tmp_path, [USERADD.format(now_stamp(), "hunted")])
    config = dg.RunConfig(ops={"spool_events": {"config": {"segments": [last]}}})
    by_hunt = dg.materialize([spool_events, spool_findings], resources=hunted_resources, run_config=config)
    (detected,) = by_hunt.asset_materializations_for_node("spool_findings")
    assert (detected.metadata["runner"].value, detected.metadata["percolated_events"].value) == ("retro-hunt", 0)
    assert detected.metadata["findings"].value == 1


@pytest.mark.slow
def test_serve_daemon_ingests_and_detects_and_a_restarted_daemon_or_code_server_relaunches_nothing(
    siem: OpenSearch, tmp_path: Path
) -> None:
    spool, home = tmp_path / "spool", tmp_path / "dagster"
    env = env_for(spool, DAGSTER_HOME=str(home), SIEM_RETENTION_DAYS="20000")
    serve = Serve(spool, "--no-webserver", "--syslog-udp", "127.0.0.1:0", env=env)
    try:
        _, port = serve.address("syslog-udp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(USERADD.format(now_stamp(), "live").encode(), ("127.0.0.1", port))

            def found(name: str) -> bool:
                siem.indices.refresh(index=naming.findings_index(), ignore_unavailable=True)
                siem.indices.refresh(index=naming.events_pattern(), ignore_unavailable=True)
                query = {"query": {"term": {"user.name": name}}}
                pattern = naming.events_pattern("linux-auth")
                events = siem.count(index=pattern, body=query, allow_no_indices=True)["count"]
                findings = siem.count(index=naming.findings_index(), body=query, ignore_unavailable=True)["count"]
                return events == 1 and findings == 1

            wait_for(lambda: found("backdoorlive"), 240, "the event and its finding (sensor -> run)", every=1)
            runs_before = _spool_runs(home)
            serve.kill_child("dagster-daemon")
            sender.sendto(USERADD.format(now_stamp(), "again").encode(), ("127.0.0.1", port))
            wait_for(lambda: found("backdooragain"), 240, "the second event after the daemon restarted", every=1)
            serve.kill_child("dagster-code-server")  # the daemon reaches its replacement on the same socket
            sender.sendto(USERADD.format(now_stamp(), "third").encode(), ("127.0.0.1", port))
            wait_for(lambda: found("backdoorthird"), 240, "the third event after the code server restarted", every=1)
        runs_after = _spool_runs(home)
        assert len(runs_after) == len(set(runs_after)) == len(runs_before) + 2, (runs_before, runs_after)
    finally:
        serve.stop()


def _spool_runs(home: Path) -> list[str]:
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs(filters=dg.RunsFilter(job_name="spool_ingestion"))
            return sorted(run.tags["dagster/run_key"] for run in runs)
    finally:
        if previous is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = previous
