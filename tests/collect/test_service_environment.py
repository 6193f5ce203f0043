"""What `siem serve` hands its Dagster children: the operator's environment first, `.env` only beneath it."""

from __future__ import annotations

from pathlib import Path

from dagster_project.collect.supervisor import service_environment


def test_the_environment_wins_over_a_blank_dotenv_line_and_dotenv_fills_what_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SIEM_SPOOL_DIR=\nSIEM_SMTP_HOST=mail.example.org\n")
    env = service_environment({"SIEM_SPOOL_DIR": "/var/spool/siem"}, tmp_path)
    assert env["SIEM_SPOOL_DIR"] == "/var/spool/siem"
    assert env["SIEM_SMTP_HOST"] == "mail.example.org"


def test_every_wired_variable_is_set_and_relative_paths_are_anchored_where_serve_was_started(tmp_path: Path) -> None:
    env = service_environment({"SIEM_HOME": "var/siem", "SIEM_RULE_PACKS": "/opt/sigma:packs/local"}, tmp_path)
    assert env["SIEM_HOME"] == str(tmp_path / "var/siem")
    assert env["SIEM_RULE_PACKS"] == f"/opt/sigma:{tmp_path / 'packs/local'}"
    assert env["SIEM_WEBHOOK_URL"] == ""  # dg.EnvVar refuses a run when the variable is missing altogether
    assert env["SIEM_SMTP_HOST"] == ""  # no .env here: nothing invented
