"""docker-compose.yml parses and agrees with the pinned version and the suite's services."""

from __future__ import annotations

from pathlib import Path

import yaml

from dagster_project.node.manifest import load_distribution

REPO = Path(__file__).resolve().parents[2]
ONE_SHOT = {"dashboards-import"}
"""Jobs that run once and exit: the only services exempt from the healthcheck rule, each named here."""


def test_compose_is_consistent() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    version = load_distribution().version
    offenders: list[str] = []
    expected = {"opensearch", "opensearch-dashboards", "dagster-webserver", "dagster-daemon", *ONE_SHOT}
    if set(services) != expected:
        offenders.append(f"services {sorted(services)} != {sorted(expected)}")
    for name, image in (
        ("opensearch", "opensearchproject/opensearch"),
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
