"""Clients verify TLS with a CA file and use basic auth; only OPENSEARCH_VERIFY_CERTS=false turns it off."""

from __future__ import annotations

import logging

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthenticationException
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

from dagster_project.client import client_from_env, make_client
from dagster_project.node.lifecycle import UpResult
from dagster_project.settings import ConnectionSettings
from tests.security.conftest import SECURE_PORT

URL = f"https://127.0.0.1:{SECURE_PORT}"
WARNING = "TLS certificate verification is OFF"
# Variables that turn verification off in other tools; none of them may do so here.
LOOKALIKES = {
    "PYTHONHTTPSVERIFY": "0",
    "CURL_CA_BUNDLE": "",
    "REQUESTS_CA_BUNDLE": "",
    "OPENSEARCH_SSL_VERIFY": "false",
    "OPENSEARCH_INSECURE": "true",
    "OPENSEARCH_SSL_ASSERT_HOSTNAME": "false",
    "SIEM_VERIFY_CERTS": "false",
}


def _cert_reqs(client: OpenSearch) -> str:
    return str(client.transport.get_connection().pool.cert_reqs)  # type: ignore[attr-defined]


def test_verification_is_on_by_default_with_the_ca_file() -> None:
    client = make_client(URL, user="u", password="p", ca_certs="/tmp/ca.pem")
    pool = client.transport.get_connection().pool  # type: ignore[attr-defined]
    assert pool.cert_reqs == "CERT_REQUIRED" and pool.ca_certs == "/tmp/ca.pem"


def test_turning_it_off_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dagster_project.client"):
        client = make_client(URL, verify_certs=False)
    assert _cert_reqs(client) == "CERT_NONE"
    assert [r for r in caplog.records if r.levelno == logging.WARNING and WARNING in r.getMessage()]


def test_only_opensearch_verify_certs_false_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", URL)
    monkeypatch.delenv("OPENSEARCH_VERIFY_CERTS", raising=False)
    for name, value in LOOKALIKES.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.WARNING, logger="dagster_project.client"):
        assert ConnectionSettings().verify_certs is True
        assert _cert_reqs(client_from_env()) == "CERT_REQUIRED"
    assert WARNING not in caplog.text
    monkeypatch.setenv("OPENSEARCH_VERIFY_CERTS", "false")
    with caplog.at_level(logging.WARNING, logger="dagster_project.client"):
        assert _cert_reqs(client_from_env()) == "CERT_NONE"
    assert WARNING in caplog.text


def test_live_the_ca_file_is_what_makes_tls_work(
    secure_node: UpResult, node_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", secure_node.url)
    monkeypatch.setenv("OPENSEARCH_USER", "admin")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", node_env["admin"])
    monkeypatch.setenv("OPENSEARCH_CA_CERTS", "")
    with pytest.raises(OpenSearchConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client_from_env().info()
    monkeypatch.setenv("OPENSEARCH_CA_CERTS", secure_node.ca_certs)
    assert client_from_env().info()["version"]["number"]


def test_live_verification_off_still_needs_a_password(
    secure_node: UpResult, node_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dagster_project.client"):
        insecure = make_client(secure_node.url, user="admin", password=node_env["admin"], verify_certs=False)
    assert insecure.info()["version"]["number"]
    assert WARNING in caplog.text
    with pytest.raises(AuthenticationException):
        make_client(secure_node.url, ca_certs=secure_node.ca_certs).info()
    with pytest.raises(AuthenticationException):
        make_client(secure_node.url, user="nobody", password="Wrong-pa55word!", ca_certs=secure_node.ca_certs).info()


def test_live_plain_http_is_refused(secure_node: UpResult) -> None:
    with pytest.raises(OpenSearchConnectionError):
        make_client(secure_node.url.replace("https://", "http://"), timeout=5).info()
