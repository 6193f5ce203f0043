"""The suite's one e-mail path: a pure message builder and one SMTP sender, for alerts and reports alike.

The sender takes `SmtpSettings` (the CLI reads them from SIEM_SMTP_*, Dagster from the `smtp` resource):
STARTTLS or implicit TLS, optional login, no retries, never a secret in a log line or an error.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from dagster_project.notify.webhook import DeliveryError
from dagster_project.settings import SmtpSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: its name, bytes and MIME type."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def build_message(
    *, sender: str, recipients: Sequence[str], subject: str, body: str, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    """A plain-text message with optional attachments (pure)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message; DeliveryError naming the server on any failure or refused recipient (no secret shown).

    Blocks for at most `timeout` seconds per network operation; does not retry.
    """
    if not settings.host:
        raise DeliveryError("SIEM_SMTP_HOST is not set: cannot send e-mail", where="SIEM_SMTP_HOST")
    if not message["To"]:
        raise DeliveryError("no recipients", where="email")
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
