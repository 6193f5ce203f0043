"""Delivers newly created alerts through the configured channels (webhook, email); failures are reported, not hidden."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from opensearchpy import OpenSearch

from dagster_project.detection.alerts import AlertChange, mark_notified
from dagster_project.notify.email import build_message, send_message
from dagster_project.notify.webhook import DeliveryError, Webhook
from dagster_project.settings import SmtpSettings, WebhookSettings, url_list
from dagster_project.storage import naming

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """How many new alerts went out per channel, and what failed."""

    webhook: int = 0
    email: int = 0
    failures: list[str] = field(default_factory=list)


def alert_payload(change: AlertChange, events_url: str = "") -> dict[str, object]:
    """The JSON body a webhook receives for one alert (with links back to the events when a URL is known)."""
    alert = dict(change.document["alert"])
    payload: dict[str, object] = {"type": "siem.alert", "alert": alert}
    if events_url:
        ids = ",".join(alert.get("event_ids", [])[:20])
        node = url_list(events_url)[0]  # any node of the cluster answers; a link names one
        payload["links"] = {"events": f"{node}/{naming.events_alias()}/_search?q=_id:({ids.replace(',', ' OR ')})"}
    return payload


def notify(
    client: OpenSearch,
    changes: list[AlertChange],
    *,
    webhook: WebhookSettings | None = None,
    smtp: SmtpSettings | None = None,
    events_url: str = "",
) -> DeliveryReport:
    """Send every newly created alert to each configured channel; record the channels on the alert."""
    webhook = webhook or WebhookSettings()
    smtp = smtp or SmtpSettings()
    report = DeliveryReport()
    new = [c for c in changes if c.created]
    if not new:
        return report
    hook = Webhook(webhook) if webhook.url else None
    try:
        for change in new:
            channels: list[str] = []
            alert = change.document["alert"]
            if hook is not None:
                try:
                    hook.post(alert_payload(change, events_url))
                    channels.append("webhook")
                    report.webhook += 1
                except DeliveryError as exc:
                    report.failures.append(str(exc))
            if smtp.host and smtp.alert_recipients:
                subject = f"[SIEM {alert['severity']}] {alert['rule_title']} ({alert['entity']})"
                body = "\n".join(f"{k}: {v}" for k, v in alert.items() if k not in ("finding_ids",))
                message = build_message(
                    sender=smtp.sender, recipients=smtp.alert_recipients, subject=subject, body=body
                )
                try:
                    send_message(smtp, message)
                    channels.append("email")
                    report.email += 1
                except DeliveryError as exc:
                    report.failures.append(str(exc))
            if channels:
                mark_notified(client, change.id, channels)
    finally:
        if hook is not None:
            hook.close()
    for failure in report.failures:
        log.error("alert delivery failed: %s", failure)
    return report
