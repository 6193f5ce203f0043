"""Sends email through SMTP (STARTTLS or implicit TLS, optional login), for alerts and reports alike."""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from dagster_project.notify.settings import SmtpSettings
from dagster_project.notify.webhook import DeliveryError

log = logging.getLogger(__name__)


def build_message(
    settings: SmtpSettings, recipients: list[str], subject: str, body: str, attachments: list[Path] | None = None
) -> EmailMessage:
    """A plain-text message with optional attachments (pure apart from reading the attachments)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(body)
    for path in attachments or []:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message; DeliveryError naming the server on any failure or refused recipient (no secret shown).

    Blocks for at most `timeout` seconds per network operation; does not retry.
    """
    if not settings.host:
        raise DeliveryError("SIEM_SMTP_HOST is not set", where="SIEM_SMTP_HOST")
    where = f"smtp://{settings.host}:{settings.port}"
    context = ssl.create_default_context()
    try:
        if settings.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.starttls and not settings.ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password.get_secret_value())
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"sending failed: {type(exc).__name__}: {exc}", where=where) from exc
    if refused:
        raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}", where=where)
    log.info("e-mailed to %d recipient(s) via %s", len(message["To"].split(",")), where)


def send_email(
    settings: SmtpSettings, recipients: list[str], subject: str, body: str, attachments: list[Path] | None = None
) -> None:
    """Build and send one message to `recipients`."""
    if not recipients:
        raise DeliveryError("no recipients", where="email")
    send_message(settings, build_message(settings, recipients, subject, body, attachments))
