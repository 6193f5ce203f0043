"""The deploy client against a local server that answers like Dashboards' saved objects import API."""

from __future__ import annotations

import base64
import json
import socket
import sys
from collections import Counter
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from dagster_project.cli import cli, main
from dagster_project.dashboards.deploy import DashboardsClient, DashboardsError, deploy, multipart_body
from dagster_project.dashboards.objects import load_saved_objects, ndjson_payload
from dagster_project.errors import ArtifactError, ConfigurationError
from tests.dashboards.fake_dashboards import FakeDashboards, running
from tests.namespace import users_namespace

pytestmark = pytest.mark.usefixtures("default_namespace")

with users_namespace():
    OBJECTS = load_saved_objects()


@pytest.fixture
def dashboards() -> Iterator[FakeDashboards]:
    """A fake Dashboards server on a free port."""
    with running(FakeDashboards()) as fake:
        yield fake


def test_one_request_imports_every_object_and_a_rerun_overwrites(dashboards: FakeDashboards) -> None:
    result = deploy(dashboards.url)
    assert result.count == len(OBJECTS)
    assert result.imported == dict(sorted(Counter(o.type for o in OBJECTS).items()))
    (request,) = dashboards.received
    assert (request.method, request.path, request.query) == (
        "POST",
        "/api/saved_objects/_import",
        {"overwrite": ["true"]},
    )
    assert request.headers["osd-xsrf"] == "true"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "authorization" not in request.headers
    assert (request.filename, request.part_type) == ("siem-dashboards.ndjson", "application/ndjson")
    assert [(o["type"], o["id"]) for o in request.objects] == [
        (o.type, o.id)
        for o in sorted(OBJECTS, key=lambda o: ["index-pattern", "search", "visualization", "dashboard"].index(o.type))
    ]
    assert request.objects == [json.loads(line) for line in ndjson_payload(OBJECTS).decode().splitlines()]
    stored = dict(dashboards.stored)
    again = deploy(dashboards.url)
    assert again.count == len(OBJECTS)
    assert dashboards.stored == stored


def test_basic_auth_and_a_base_path_are_used(dashboards: FakeDashboards) -> None:
    with running(FakeDashboards(base_path="/dashboards")) as prefixed:
        deploy(prefixed.url, user="analyst", password="s3cret:with colon")
        (request,) = prefixed.received
    assert request.path == "/dashboards/api/saved_objects/_import"
    scheme, token = request.headers["authorization"].split(" ", 1)
    assert (scheme, base64.b64decode(token).decode()) == ("Basic", "analyst:s3cret:with colon")


def test_objects_dashboards_did_not_import_are_a_clear_error(dashboards: FakeDashboards) -> None:
    answer = {
        "success": False,
        "successCount": 1,
        "errors": [
            {
                "id": "siem-vis-web-top-error-paths",
                "type": "visualization",
                "title": "Top paths with 4xx/5xx",
                "error": {
                    "type": "missing_references",
                    "references": [{"type": "index-pattern", "id": "gone"}],
                },
            },
            {"id": "siem-dash-web", "type": "dashboard", "error": {"type": "unknown", "message": "boom"}},
        ],
    }
    dashboards.scripted.append((200, answer))
    with pytest.raises(DashboardsError) as raised:
        deploy(dashboards.url)
    message = str(raised.value)
    assert "2 of the objects were not imported" in message
    assert "visualization 'siem-vis-web-top-error-paths': missing references index-pattern 'gone'" in message
    assert "dashboard 'siem-dash-web': unknown: boom" in message
    assert message.startswith(f"{dashboards.url}/api/saved_objects/_import: ")


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (
            400,
            {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension .txt"},
            "HTTP 400: Invalid",
        ),
        (
            401,
            {"statusCode": 401, "error": "Unauthorized", "message": "Authentication required"},
            "HTTP 401: Auth",
        ),
        (200, {"statusCode": 200}, "unexpected import response"),
    ],
)
def test_a_refused_upload_is_a_clear_error(
    dashboards: FakeDashboards, status: int, answer: dict, expected: str
) -> None:
    dashboards.scripted.append((status, answer))
    with pytest.raises(DashboardsError, match=expected):
        deploy(dashboards.url)


def test_busy_answers_are_retried(dashboards: FakeDashboards) -> None:
    dashboards.scripted += [(503, {"statusCode": 503, "message": "not ready"}), (429, {"statusCode": 429})]
    result = deploy(dashboards.url)
    assert result.count == len(OBJECTS)
    assert len(dashboards.received) == 3


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens there
    client = DashboardsClient(f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(DashboardsError, match="import request failed"):
        client.import_objects(ndjson_payload(OBJECTS))
    client.close()


def test_invalid_objects_are_not_sent(dashboards: FakeDashboards) -> None:
    broken = json.loads(ndjson_payload(OBJECTS[:1]))
    broken["references"] = [{"name": "x", "type": "index-pattern", "id": "nowhere"}]
    from dagster_project.dashboards.objects import parse_line

    objects = [parse_line(json.dumps(broken), OBJECTS[0].path, 1), *OBJECTS[1:]]
    with pytest.raises(ArtifactError, match="nothing deployed"):
        deploy(dashboards.url, objects=objects)
    assert dashboards.received == []


def test_the_multipart_body_has_one_file_part() -> None:
    body, content_type = multipart_body(b'{"a":1}\n')
    boundary = content_type.split("boundary=", 1)[1]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert b'Content-Disposition: form-data; name="file"; filename="siem-dashboards.ndjson"' in body
    assert body.count(f"--{boundary}".encode()) == 2


def test_cli_deploy_prints_what_was_imported(dashboards: FakeDashboards, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSEARCH_DASHBOARDS_URL", dashboards.url)
    result = CliRunner().invoke(cli, ["dashboards", "deploy", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["url"], data["count"]) == (dashboards.url, len(OBJECTS))
    text = CliRunner().invoke(cli, ["dashboards", "deploy"], catch_exceptions=False).output
    assert text.startswith(f"imported {len(OBJECTS)} saved objects into {dashboards.url} (")
    assert f"{dashboards.url}/app/dashboards#/view/siem-dash-soc-overview" in text


def test_cli_deploy_without_a_url_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENSEARCH_DASHBOARDS_URL", raising=False)
    with pytest.raises(ConfigurationError, match="set OPENSEARCH_DASHBOARDS_URL"):
        CliRunner().invoke(cli, ["dashboards", "deploy"], catch_exceptions=False)
    monkeypatch.setattr(sys, "argv", ["siem", "dashboards", "deploy"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert (
        "error: OPENSEARCH_DASHBOARDS_URL: no Dashboards URL: set OPENSEARCH_DASHBOARDS_URL" in capsys.readouterr().err
    )


def test_cli_validate_reports_no_problems() -> None:
    result = CliRunner().invoke(cli, ["dashboards", "validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(OBJECTS)} saved objects, no problems"
