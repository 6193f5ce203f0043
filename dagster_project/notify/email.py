"""Sends email through SMTP (STARTTLS or TLS, optional login); attachments supported."""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from dagster_project.notify.settings import SmtpSettings
from dagster_project.notify.webhook import DeliveryError


def send_email(
    settings: SmtpSettings, recipients: list[str], subject: str, body: str, attachments: list[Path] | None = None
) -> None:
    """Send one message to `recipients`; DeliveryError naming the server when it fails (credentials never shown)."""
    if not settings.host:
        raise DeliveryError("SIEM_SMTP_HOST is not set", where="SIEM_SMTP_HOST")
    if not recipients:
        raise DeliveryError("no recipients", where="email")
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    for path in attachments or []:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context()
    try:
        smtp_class = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
        kwargs = {"context": context} if settings.ssl else {}
        with smtp_class(settings.host, settings.port, timeout=settings.timeout, **kwargs) as smtp:  # type: ignore[arg-type]
            if settings.starttls:
                smtp.starttls(context=context)
            if settings.user:
                smtp.login(settings.user, settings.password.get_secret_value())
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"email delivery failed: {type(exc).__name__}: {exc}", where=where) from exc
