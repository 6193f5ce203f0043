"""Delivery: a real SMTP server (aiosmtpd on 127.0.0.1) gets the PDF through the suite's one sender;
recipients from config or env."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dagster_project.errors import ReportError
from dagster_project.notify.email import Attachment, build_message, send_message
from dagster_project.notify.webhook import DeliveryError
from dagster_project.reports.deliver import copy_to_directory, recipients_for
from dagster_project.settings import SmtpSettings

from .conftest import PASSWORD, Inbox


def _message(recipients: tuple[str, ...]) -> Any:
    return build_message(
        subject="[PCI DSS v4.0] compliance report March 2024: 2 gap(s)",
        sender="siem@example.org",
        recipients=recipients,
        body="Controls with gaps: 10.4.3",
        attachments=[Attachment("pci-dss-20240301-20240331.pdf", b"%PDF-1.7 fake", "application/pdf")],
    )


def test_the_report_is_mailed_with_the_pdf_attached(
    smtp_server: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp_server
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        user="reports",
        password=PASSWORD,
        sender="siem@example.org",
        starttls=False,
    )
    caplog.set_level(logging.DEBUG)
    send_message(settings, _message(("qsa@example.org", "ciso@example.org")))
    assert len(inbox.messages) == 1
    mail_from, rcpt, message = inbox.messages[0]
    assert mail_from == "siem@example.org" and rcpt == ["qsa@example.org", "ciso@example.org"]
    assert message["Subject"] == "[PCI DSS v4.0] compliance report March 2024: 2 gap(s)"
    parts = [p for p in message.walk() if p.get_filename()]
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts] == [
        ("pci-dss-20240301-20240331.pdf", "application/pdf", b"%PDF-1.7 fake")
    ]
    assert PASSWORD not in caplog.text and PASSWORD not in repr(settings)
    assert "e-mailed to 2 recipient(s)" in caplog.text


def test_a_wrong_password_is_a_delivery_error_that_does_not_show_it(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = SmtpSettings(host="127.0.0.1", port=port, user="reports", password="wrong-one", starttls=False)
    with pytest.raises(DeliveryError) as caught:
        send_message(settings, _message(("qsa@example.org",)))
    assert caught.value.where == f"smtp://127.0.0.1:{port}" and "wrong-one" not in str(caught.value)
    assert inbox.messages == []


def test_no_smtp_host_is_refused_loudly() -> None:
    with pytest.raises(DeliveryError, match="SIEM_SMTP_HOST is not set"):
        send_message(SmtpSettings(host=""), _message(("qsa@example.org",)))


def test_smtp_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "HOST": "mail.example.org",
        "PORT": "2525",
        "USER": "u",
        "PASSWORD": "p",
        "FROM": "siem@x.org",
        "STARTTLS": "false",
    }.items():
        monkeypatch.setenv(f"SIEM_SMTP_{name}", value)
    settings = SmtpSettings()
    assert (settings.host, settings.port, settings.user, settings.sender, settings.starttls) == (
        "mail.example.org",
        2525,
        "u",
        "siem@x.org",
        False,
    )
    assert settings.password.get_secret_value() == "p" and "p'" not in repr(settings.password)


def test_recipients_come_from_the_file_unless_the_environment_overrides(tmp_path: Path) -> None:
    file = tmp_path / "recipients.yaml"
    file.write_text("pci-dss: [pci@example.org]\ngdpr: []\n")
    assert recipients_for("pci-dss", file, environ={}) == ("pci@example.org",)
    assert recipients_for("gdpr", file, environ={}) == ()
    assert recipients_for("pci-dss", file, environ={"SIEM_REPORT_RECIPIENTS_PCI_DSS": "a@x.org, b@x.org"}) == (
        "a@x.org",
        "b@x.org",
    )
    file.write_text("pci-dss: [not-an-address]\n")
    with pytest.raises(ReportError, match="expected a list of e-mail addresses"):
        recipients_for("pci-dss", file, environ={})
    assert recipients_for("soc2", environ={}) == ("compliance@example.org",)


def test_copy_to_the_reports_directory(tmp_path: Path) -> None:
    source = tmp_path / "out"
    (source / "evidence").mkdir(parents=True)
    (source / "report.pdf").write_bytes(b"%PDF")
    (source / "evidence" / "a.csv").write_text("x\r\n")
    target = copy_to_directory(source, tmp_path / "reports" / "pci-dss" / "2024-03-01_2024-03-31")
    assert (target / "report.pdf").read_bytes() == b"%PDF" and (target / "evidence" / "a.csv").is_file()
    assert copy_to_directory(source, source) == source
