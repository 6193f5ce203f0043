"""docker-compose.yml parses and agrees with the pinned version, the suite's services and the local cluster's shape."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dagster_project.node.manifest import load_distribution
from dagster_project.storage.naming import CLUSTER_NAME, node_name

REPO = Path(__file__).resolve().parents[2]
ONE_SHOT = {"dashboards-import"}
"""Jobs that run once and exit: the only services exempt from the healthcheck rule, each named here."""
NODES = ["opensearch", "opensearch-2", "opensearch-3"]
"""The OpenSearch nodes: the first always runs, the others join it under `--profile cluster`."""


def test_compose_is_consistent() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    version = load_distribution().version
    offenders: list[str] = []
    expected = {*NODES, "opensearch-dashboards", "dagster-webserver", "dagster-daemon", *ONE_SHOT}
    if set(services) != expected:
        offenders.append(f"services {sorted(services)} != {sorted(expected)}")
    for name, image in (
        *((node, "opensearchproject/opensearch") for node in NODES),
        ("opensearch-dashboards", "opensearchproject/opensearch-dashboards"),
    ):
        if services.get(name, {}).get("image") != f"{image}:{version}":
            offenders.append(f"{name} image is {services.get(name, {}).get('image')}, pinned version is {version}")
    for name, service in services.items():
        if "healthcheck" not in service and name not in ONE_SHOT:
            offenders.append(f"{name} has no healthcheck")
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                offenders.append(f"{name} publishes {port} beyond loopback")
    for name in ("dagster-webserver", "dagster-daemon", *ONE_SHOT):
        if services.get(name, {}).get("build") != ".":
            offenders.append(f"{name} is not built from the repo's Dockerfile")
        if services.get(name, {}).get("env_file") != [".env.example"]:
            offenders.append(f"{name} does not read .env.example (Dagster needs every wired variable set)")
        if services.get(name, {}).get("environment", {}).get("OPENSEARCH_URL") != "http://opensearch:9200":
            offenders.append(f"{name} does not point OPENSEARCH_URL at the opensearch service")
    importer = services.get("dashboards-import", {})
    if importer.get("command") != ["siem", "dashboards", "deploy"]:
        offenders.append("dashboards-import does not run `siem dashboards deploy`")
    if importer.get("restart") != "no" or "healthcheck" in importer or importer.get("ports"):
        offenders.append('dashboards-import must be a one-shot job: restart "no", no healthcheck, no ports')
    if importer.get("depends_on", {}).get("opensearch-dashboards", {}).get("condition") != "service_healthy":
        offenders.append("dashboards-import must wait for opensearch-dashboards to be healthy")
    if importer.get("environment", {}).get("OPENSEARCH_DASHBOARDS_URL") != "http://opensearch-dashboards:5601":
        offenders.append("dashboards-import does not point OPENSEARCH_DASHBOARDS_URL at Dashboards")
    if services["opensearch"]["ports"] != ["127.0.0.1:9200:9200"]:
        offenders.append("opensearch must publish 9200 on loopback")
    used_volumes = {
        str(v).split(":")[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if not str(v).startswith((".", "/"))
    }
    if not used_volumes <= set(compose.get("volumes", {})):
        offenders.append(f"undeclared volumes {used_volumes - set(compose.get('volumes', {}))}")
    assert (REPO / "Dockerfile").is_file()
    assert offenders == []


def test_the_cluster_profile_has_the_local_clusters_shape() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    offenders: list[str] = []
    heaps = set()
    for ordinal, name in enumerate(NODES, start=1):
        node = services[name]
        env = node.get("environment", {})
        heaps.add(env.get("OPENSEARCH_JAVA_OPTS"))
        if (env.get("cluster.name"), env.get("node.name")) != (CLUSTER_NAME, node_name(ordinal)):
            offenders.append(f"{name}: cluster/node name {env.get('cluster.name')}/{env.get('node.name')}")
        if "discovery.type" in env:
            offenders.append(f"{name}: discovery.type {env['discovery.type']} (a single-node node takes no peers)")
        if env.get("discovery.seed_hosts") != "opensearch":
            offenders.append(f"{name}: discovery.seed_hosts must be the name every node answers to")
        bootstraps = env.get("cluster.initial_cluster_manager_nodes")
        if bootstraps != (node_name(1) if ordinal == 1 else None):
            offenders.append(f"{name}: initial cluster managers {bootstraps} (only node 1 forms the cluster)")
        if str(env.get("node.store.allow_mmap")) != "false" or node.get("ulimits", {}).get("nofile") is None:
            offenders.append(f"{name}: bootstrap checks need allow_mmap false and a nofile limit")
        if ordinal == 1:
            if node.get("profiles"):
                offenders.append(f"{name}: node 1 must run without a profile")
            continue
        if node.get("profiles") != ["cluster"]:
            offenders.append(f"{name}: not in the cluster profile")
        if "opensearch" not in node.get("networks", {}).get("default", {}).get("aliases", []):
            offenders.append(f"{name}: does not answer to `opensearch`")
        if node.get("depends_on", {}).get("opensearch", {}).get("condition") != "service_healthy":
            offenders.append(f"{name}: must wait for node 1 to be healthy")
        if node.get("ports"):
            offenders.append(f"{name}: publishes ports (node 1's 9200 reaches the cluster)")
    heap = str(next(iter(heaps)))
    if (
        len(heaps) != 1
        or not re.findall(r"-Xms(\S+)", heap)
        or re.findall(r"-Xms(\S+)", heap) != re.findall(r"-Xmx(\S+)", heap)
    ):
        offenders.append(f"every node needs the same heap with -Xms equal to -Xmx: {heaps}")
    profiled = [name for name, service in services.items() if service.get("profiles") and name not in NODES]
    if profiled:
        offenders.append(f"{profiled} need a profile: `docker compose up` must run the whole suite")
    data = {v.split(":")[0] for name in NODES for v in services[name].get("volumes", [])}
    if len(data) != len(NODES):
        offenders.append(f"nodes share data volumes: {sorted(data)}")
    assert offenders == []
