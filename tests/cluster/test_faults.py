"""Node loss under load, after OpenSearch's ClusterDisruptionIT.testAckedIndexing (see tests/cluster/faults.py).

Each scenario ingests generated events (at least 200,000 when a node is killed) on the three-node cluster,
brings the cluster back with `siem opensearch up`, and holds it to the same promises as a quiet run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster import faults

pytestmark = [pytest.mark.live, pytest.mark.cluster, pytest.mark.slow]


def _nothing_lost(figures: faults.Figures) -> None:
    assert figures.quarantined == figures.notes["malformed_written"] > 0
    assert figures.searchable == figures.events_read - figures.quarantined
    assert figures.acknowledged > 0, "the recorder saw no acknowledgement: `lost` would count nothing"
    assert figures.lost == 0, "an acknowledged event is not searchable"
    assert figures.duplicates == 0, "an id is stored twice"
    assert figures.acknowledged <= figures.searchable
    assert figures.reconciles and figures.copies_agree
    assert figures.verify_ok, figures.notes["verify"]


def test_a_data_node_killed_during_ingestion_loses_nothing(cluster: faults.ClusterConfig, tmp_path: Path) -> None:
    figures = faults.acked_indexing(cluster, tmp_path, kill_cluster_manager=False)
    assert figures.events_read >= 200_000 and figures.notes["ingesting_while_down"]
    _nothing_lost(figures)


def test_the_cluster_manager_killed_during_ingestion_loses_nothing(
    cluster: faults.ClusterConfig, tmp_path: Path
) -> None:
    figures = faults.acked_indexing(cluster, tmp_path, kill_cluster_manager=True)
    assert figures.events_read >= 200_000 and figures.notes["ingesting_while_down"]
    _nothing_lost(figures)


def test_a_rolling_restart_under_ingestion_and_detection_changes_no_finding(
    cluster: faults.ClusterConfig, tmp_path: Path
) -> None:
    figures = faults.rolling_restart(cluster, tmp_path)
    _nothing_lost(figures)
    assert figures.notes["files_ingested_during_restart"] >= 2, "ingestion ran while nodes restarted"
    assert figures.notes["detect_runs"] == faults.NODES, "detection ran while each node was down"
    assert figures.notes["same_findings"], (figures.notes["matched_per_run"], figures.notes["findings_per_run"])
