"""One configuration: the CLI and Dagster read the same variables, every resource field is wired to its
variable, `.env.example` and the README list them all, and resources never read the environment."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from dagster_project.client import settings_options
from dagster_project.definitions import RESOURCES
from dagster_project.resources import OpenSearchResource, SmtpResource
from dagster_project.settings import PROVIDERS, ConnectionSettings, NodeSettings, SmtpSettings

REPO = Path(__file__).resolve().parents[2]
SEVEN = {
    "OPENSEARCH_URL": "https://search.example.org:9200",
    "OPENSEARCH_USER": "pipeline",
    "OPENSEARCH_PASSWORD": "Not-the-default-1",
    "OPENSEARCH_CA_CERTS": "/etc/siem/ca.pem",
    "OPENSEARCH_VERIFY_CERTS": "false",
    "OPENSEARCH_TIMEOUT": "12.5",
    "OPENSEARCH_HTTP_COMPRESS": "true",
}
"""A value other than the default for each of the 7 OPENSEARCH_* settings."""


def _wired(resource: dg.ConfigurableResource) -> dict[str, str]:
    """Field -> the variable a definitions resource field is wired to (fields that are not wired are left out)."""
    return {
        name: value.env_var_name
        for name in type(resource).model_fields
        if isinstance(value := getattr(resource, name), dg.EnvVar)
    }


def test_the_cli_and_the_dagster_resource_see_the_same_seven_opensearch_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SEVEN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SIEM_OPENSEARCH_PORT", "9333")
    cli = settings_options(ConnectionSettings(), NodeSettings().url)
    resource = RESOURCES["opensearch"]
    assert isinstance(resource, OpenSearchResource)
    assert set(_wired(resource).values()) >= set(SEVEN), "each of the 7 is wired with dg.EnvVar"
    resolved = resource.process_config_and_initialize()
    dagster = settings_options(resolved.settings(), resolved.local_url)
    assert dagster == cli
    assert (cli["hosts"], cli["http_auth"], cli["ca_certs"]) == (
        ["https://search.example.org:9200"],
        ("pipeline", "Not-the-default-1"),
        "/etc/siem/ca.pem",
    )
    assert (cli["verify_certs"], cli["timeout"], cli["http_compress"]) == (False, 12.5, True)


def test_an_empty_url_means_the_local_node_in_both() -> None:
    resource = OpenSearchResource(local_port="9333")
    assert resource.effective_url == "http://127.0.0.1:9333"
    assert settings_options(resource.settings(), resource.local_url)["hosts"] == ["http://127.0.0.1:9333"]


def test_every_resource_field_is_wired_to_the_variable_its_settings_class_names() -> None:
    names = {env for provider in PROVIDERS for env in provider.env_names().values()}
    offenders = []
    for key, resource in RESOURCES.items():
        wired = _wired(resource)
        if not wired:
            offenders.append(f"{key}: nothing wired")
        offenders += [f"{key}.{field}: {env} is no setting" for field, env in wired.items() if env not in names]
        unwired = set(type(resource).model_fields) - set(wired) - {"recipients_file"}
        offenders += [f"{key}.{field}: not wired with dg.EnvVar" for field in sorted(unwired)]
    assert offenders == []


def test_resources_validate_with_the_settings_classes_and_ignore_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIEM_SMTP_HOST", "mail.from-the-environment.example")
    monkeypatch.setenv("SIEM_SMTP_FROM", "env@example.org")
    smtp = SmtpResource(host="127.0.0.1", port="2525", starttls="false").settings()
    assert (smtp.host, smtp.port, smtp.starttls, smtp.sender) == ("127.0.0.1", 2525, False, "siem@localhost")
    assert SmtpSettings.from_text({}).host == "" and SmtpSettings().host == "mail.from-the-environment.example"
    with pytest.raises(ValidationError):
        OpenSearchResource(timeout="soon").settings()


def test_env_example_lists_every_wired_variable() -> None:
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    wired = {env for resource in RESOURCES.values() for env in _wired(resource).values()}
    assert sorted(wired - listed) == []
    unknown = listed - wired - {env for p in PROVIDERS for env in p.env_names().values()}
    assert sorted(v for v in unknown if not re.fullmatch(r"SIEM_[A-Z]+_PASSWORD", v)) == []


def test_the_readme_documents_every_setting_once() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n\n**", 1)[0]
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_<>]*)` \|", table, re.MULTILINE)
    every = [env for provider in PROVIDERS for env in provider.env_names().values()]
    assert sorted(set(every) - set(rows)) == []
    assert len(rows) == len(set(rows))
    extra = set(rows) - set(every)
    assert extra == {"SIEM_REPORT_RECIPIENTS_<FRAMEWORK>", "SIEM_<USER>_PASSWORD"}


def test_make_test_runs_the_linters_first() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^test: lint$", makefile, re.MULTILINE)
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for command in ("ruff check", "ruff format --check", "mypy dagster_project"):
        assert command in lint, command


def test_a_fresh_env_file_configures_every_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `.env` as `make venv` copies it (every value empty), each resource resolves to the defaults."""
    for line in (REPO / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    resolved = {key: resource.process_config_and_initialize() for key, resource in RESOURCES.items()}
    opensearch = resolved["opensearch"]
    assert isinstance(opensearch, OpenSearchResource)
    assert opensearch.settings() == ConnectionSettings.from_text({}) and opensearch.effective_url.endswith(":9200")
    for key in ("smtp", "webhook", "signing_key", "dashboards", "retention", "alerting", "quality"):
        settings = resolved[key].settings()  # type: ignore[attr-defined]
        assert settings == type(settings).from_text({}), key
