"""docs/deploy.md names only what exists: each variable is read by the suite, each `siem` option is accepted."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from click.testing import CliRunner

from dagster_project.cli import cli
from dagster_project.security.users import load_users
from dagster_project.settings import PROVIDERS

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deploy.md"
VARIABLE = re.compile(r"\b(?:OPENSEARCH|SIEM)_[A-Z0-9_]+\b")
READ_DIRECTLY = re.compile(r"""(?:environ\.get|getenv|EnvVar)\(\s*["']([A-Z0-9_]+)["']""")


def known_variables() -> set[str]:
    """Every environment variable the suite reads: settings fields, password variables, direct reads."""
    names = {spec.password_env for spec in load_users()}
    names |= {env for provider in PROVIDERS for env in provider.env_names().values()}
    for folder in ("dagster_project", "tests", "benchmarks"):  # the last two: the test cluster's own variables
        for path in (REPO / folder).rglob("*.py"):
            names.update(READ_DIRECTLY.findall(path.read_text()))
    return names


def test_every_variable_the_doc_names_is_read_by_the_suite() -> None:
    named = set(VARIABLE.findall(DOC.read_text()))
    known = known_variables()
    assert {"SIEM_OPENSEARCH_NODES", "SIEM_REPLICAS", "OPENSEARCH_URL"} <= named
    assert sorted(named - known) == []


def test_every_siem_command_in_the_doc_accepts_its_options() -> None:
    offenders: list[str] = []
    lines = [line.strip() for line in DOC.read_text().splitlines()]
    commands_used = [line.split("#")[0].split("&&") for line in lines if line.startswith("siem ")]
    for part in (p.strip() for parts in commands_used for p in parts):
        words = shlex.split(part)[1:]
        path = [w for w in words if not w.startswith("-") and "=" not in w][:2]
        options = [w.split("=")[0] for w in words if w.startswith("--")]
        help_text = CliRunner().invoke(cli, [*path, "--help"]).output
        offenders += [f"{part}: {option}" for option in options if option not in help_text]
        if "Usage:" not in help_text:
            offenders.append(f"{part}: no such command")
    assert offenders == []


def test_the_kubernetes_image_build_exists() -> None:
    assert "--build-arg EXTRAS=kubernetes" in DOC.read_text()
    assert "ARG EXTRAS" in (REPO / "Dockerfile").read_text()
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"dagster-k8s", "dagster-postgres"} <= {re.split(r"[<>=]", d)[0] for d in extras["kubernetes"]}
