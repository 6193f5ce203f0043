"""Where a Docker engine answers: the saved objects imported into a real OpenSearch Dashboards container
(the pinned version) with `siem dashboards deploy`'s code, and read back from its saved objects API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from dagster_project.dashboards.deploy import deploy
from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.node.manifest import load_distribution

pytestmark = [pytest.mark.live, pytest.mark.slow]

START_DEADLINE = 600.0
"""Seconds for the OpenSearch Dashboards container to report status green (it optimises bundles first)."""


def _docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=5).ping()
    except Exception as exc:  # noqa: BLE001  (any failure to reach an engine means: none here)
        return f"{type(exc).__name__}: {exc}"
    return None


def _request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"osd-xsrf": "true", "content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _wait_until_green(url: str) -> None:
    deadline = time.monotonic() + START_DEADLINE
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, body = _request(f"{url}/api/status")
            last = body.get("status", {}).get("overall", {}).get("state") if isinstance(body, dict) else body
            if status == 200 and last == "green":
                return
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(2)  # polling a starting server with a deadline, not waiting for data
    raise AssertionError(f"OpenSearch Dashboards at {url} not green after {START_DEADLINE:.0f}s (last: {last})")


def test_a_real_dashboards_imports_every_object_without_errors() -> None:
    problem = _docker_engine_problem()
    if problem is not None:
        pytest.skip(
            "no Docker engine on this machine (docker ping failed: "
            f"{problem}); this test imports the saved objects into an opensearch-dashboards container "
            "and runs wherever Docker is available"
        )
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network
    from testcontainers.opensearch import OpenSearchContainer

    version = load_distribution().version
    objects = load_saved_objects()
    with Network() as network:
        node = (
            OpenSearchContainer(f"opensearchproject/opensearch:{version}", security_enabled=False)
            .with_env("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m")
            .with_network(network)
            .with_network_aliases("opensearch")
        )
        dashboards = (
            DockerContainer(f"opensearchproject/opensearch-dashboards:{version}")
            .with_env("OPENSEARCH_HOSTS", '["http://opensearch:9200"]')
            .with_env("DISABLE_SECURITY_DASHBOARDS_PLUGIN", "true")
            .with_exposed_ports(5601)
            .with_network(network)
        )
        with node, dashboards:
            url = f"http://{dashboards.get_container_host_ip()}:{dashboards.get_exposed_port(5601)}"
            _wait_until_green(url)
            first = deploy(url)
            second = deploy(url)  # overwrite: the same objects again, no conflict
            wanted = [{"type": o.type, "id": o.id} for o in objects]
            status, found = _request(f"{url}/api/saved_objects/_bulk_get", "POST", wanted)
            assert status == 200, found
            errors = [o for o in found["saved_objects"] if o.get("error")]
            references = {
                (o["type"], o["id"]): sorted((r["name"], r["type"], r["id"]) for r in o["references"])
                for o in found["saved_objects"]
            }
    assert first.count == second.count == len(objects)
    assert errors == []
    assert references == {(o.type, o.id): sorted((r.name, r.type, r.id) for r in o.references) for o in objects}
