"""Delivery to officers: e-mail with the PDF attached (SMTP, SIEM_SMTP_*), and a reports directory.

Secrets come only from the environment and are never logged. Recipients per framework come from
`reports/recipients.yaml`, overridden by SIEM_REPORT_RECIPIENTS_<FRAMEWORK> (comma-separated; e.g.
SIEM_REPORT_RECIPIENTS_PCI_DSS).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import yaml
from pydantic_settings import BaseSettings, SettingsConfigDict

from dagster_project.errors import ReportError
from dagster_project.notify.email import send_message
from dagster_project.notify.settings import SmtpSettings
from dagster_project.notify.webhook import DeliveryError
from dagster_project.paths import repo_dir
from dagster_project.settings import NodeSettings

log = logging.getLogger(__name__)
RECIPIENTS_ENV_PREFIX = "SIEM_REPORT_RECIPIENTS_"


class ReportSettings(BaseSettings):
    """SIEM_REPORTS_DIR: where delivered reports are kept (default SIEM_HOME/reports)."""

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    reports_dir: Path | None = None

    @property
    def root(self) -> Path:
        """The reports directory."""
        return self.reports_dir or NodeSettings().home / "reports"


def recipients_file() -> Path:
    """`reports/recipients.yaml`."""
    return repo_dir("reports") / "recipients.yaml"


def recipients_for(
    framework: str, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The officers who receive a framework's reports: the environment override, else the recipients file."""
    env = os.environ if environ is None else environ
    override = env.get(RECIPIENTS_ENV_PREFIX + framework.upper().replace("-", "_"))
    if override is not None:
        return tuple(a.strip() for a in override.split(",") if a.strip())
    file = path or recipients_file()
    if not file.is_file():
        return ()
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ReportError("the recipients file must map framework names to lists of addresses", where=str(file))
    listed = data.get(framework) or []
    if not isinstance(listed, list) or not all(isinstance(a, str) and "@" in a for a in listed):
        raise ReportError(f"{framework}: expected a list of e-mail addresses", where=str(file))
    return tuple(listed)


def build_message(
    *, subject: str, sender: str, recipients: Sequence[str], body: str, attachment: bytes, filename: str
) -> EmailMessage:
    """A plain-text message with the PDF attached (pure)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=filename)
    return message


def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send a report e-mail through the suite's SMTP sender; ReportError on any failure (no secret shown)."""
    if not settings.host:
        raise ReportError("SIEM_SMTP_HOST is not set: cannot e-mail the report", where="SIEM_SMTP_HOST")
    try:
        send_message(settings, message)
    except DeliveryError as exc:
        raise ReportError(exc.message, where=exc.where) from exc


def copy_to_directory(source: Path, target: Path) -> Path:
    """Copy a report's folder (files, evidence, manifest) to `target`; nothing is copied onto itself."""
    if source.resolve() == target.resolve():
        return target
    shutil.copytree(source, target, dirs_exist_ok=True)
    log.info("report copied to %s", target)
    return target
