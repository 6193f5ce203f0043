"""`siem serve`'s Dagster code server: one long-lived `dagster api grpc` that the daemon and webserver share.

Left to itself, the daemon serves the code location from a gRPC server it spawns and replaces every minute
(its workspace reload), importing the suite's definitions again each time, and the webserver runs a second
one. Here the supervisor starts Dagster's own code server once (`dagster api grpc`, its public command), on a
Unix socket in a private folder, and the daemon and webserver load it through a workspace file
(`grpc_server`). Readiness is the standard gRPC health protocol the server implements (service `DagsterApi`),
asked with gRPC's own health-checking package: nothing of Dagster's internals is touched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFINITIONS_MODULE = "dagster_project.definitions"
LOCATION_NAME = DEFINITIONS_MODULE
"""The name the location has when the daemon loads the module itself (`-m`): run and sensor history stay its."""
HEALTH_SERVICE = "DagsterApi"
"""The service name Dagster's code server reports SERVING under once its definitions are loaded."""
SOCKET_NAME = "code.sock"
WORKSPACE_NAME = "workspace.yaml"


def command(dagster: Path, socket_path: Path) -> list[str]:
    """`dagster api grpc` serving the suite's definitions on `socket_path`, under the daemon's location name."""
    return [
        str(dagster),
        "api",
        "grpc",
        "--module-name",
        DEFINITIONS_MODULE,
        "--location-name",
        LOCATION_NAME,
        "--socket",
        str(socket_path),
    ]


def workspace_yaml(socket_path: Path) -> str:
    """A workspace file pointing the daemon and the webserver at the code server's socket."""
    grpc_server = {"socket": str(socket_path), "location_name": LOCATION_NAME}
    return yaml.safe_dump({"load_from": [{"grpc_server": grpc_server}]}, sort_keys=False)


def serving(socket_path: Path, timeout: float = 1.0) -> bool:
    """Whether a code server on `socket_path` answers the gRPC health check as SERVING."""
    if not socket_path.exists():
        return False
    with grpc.insecure_channel(f"unix:{socket_path}") as channel:
        request = health_pb2.HealthCheckRequest(service=HEALTH_SERVICE)
        with contextlib.suppress(grpc.RpcError):  # not listening yet, or loading
            response = health_pb2_grpc.HealthStub(channel).Check(request, timeout=timeout)
            return response.status == health_pb2.HealthCheckResponse.SERVING
    return False
