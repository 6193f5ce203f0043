"""A `WinEvent` as ECS fields: classification from the event table, users, processes, addresses, `related.*`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from dagster_project.sources.windows.entities import account_of, ip_of, process_of, sysmon_user
from dagster_project.sources.windows.event import SECURITY, SYSMON, WinEvent, as_int, is_sysmon, present
from dagster_project.sources.windows.kinds import Kind, kind_of

CHANNEL_DATASETS = {
    SECURITY: "windows.security",
    SYSMON: "windows.sysmon_operational",
    "Windows PowerShell": "windows.powershell",
    "System": "windows.system",
}
"""The channels whose `event.dataset` has a name of its own; any other is `windows.<channel in snake case>`."""
_NAMED_DATASETS = {channel.lower(): name for channel, name in CHANNEL_DATASETS.items()}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_GENERIC_CATEGORY = ["host"]
_GENERIC_TYPE = ["info"]
ASSUMED_UTC_TAG = "timestamp_assumed_utc"
"""Tag on events whose only time had no zone (OTRF exports' local `TimeCreated`), read as UTC."""


@lru_cache(maxsize=256)
def dataset(channel: str | None) -> str:
    """`event.dataset` for a channel: `windows.security`, `windows.sysmon_operational`, ... ."""
    if not channel:
        return "windows.unknown"
    lowered = channel.lower()
    known = _NAMED_DATASETS.get(lowered)
    if known:
        return known
    return "windows." + (_NON_ALNUM.sub("_", lowered).strip("_") or "unknown")


def _user(kind: Kind | None, event: WinEvent) -> dict[str, Any]:
    data = event.event_data
    role = kind.user if kind else ("sysmon" if "User" in data and "SubjectUserName" not in data else "subject")
    if role == "subject":
        return account_of(data, "SubjectUserName", "SubjectDomainName", "SubjectUserSid")
    if role == "target":
        return account_of(data, "TargetUserName", "TargetDomainName", "TargetUserSid", "TargetSid")
    if role == "sysmon":
        return sysmon_user(data.get("User"))
    if role == "userdata" and event.user_data:
        return account_of(event.user_data, "SubjectUserName", "SubjectDomainName", "SubjectUserSid")
    return {}


def to_ecs(event: WinEvent) -> dict[str, Any]:
    """The ECS fields of one Windows event (without `@timestamp`/`event.original`)."""
    sysmon = is_sysmon(event)
    kind = kind_of(event, sysmon)
    data = event.event_data
    code = str(event.event_id)
    ecs: dict[str, Any] = {}
    # The table says where the outcome comes from: fixed, the audit keywords, or EventData `Status`.
    if kind is None or kind.outcome == "keywords":
        outcome = event.outcome
    elif kind.outcome == "status":
        outcome = "success" if present(data.get("Status")) in (None, "0x0") else "failure"
    else:
        outcome = kind.outcome
    ecs_event: dict[str, Any] = {
        "kind": "event",
        "category": list(kind.category) if kind else list(_GENERIC_CATEGORY),
        "type": list(kind.type) if kind else list(_GENERIC_TYPE),
        "action": kind.action if kind else f"windows-event-{code}",
        "outcome": outcome or "unknown",
        "code": code,
        "dataset": dataset(event.channel),
        "module": "windows",
    }
    if event.provider:
        ecs_event["provider"] = event.provider
    ecs["event"] = ecs_event

    winlog: dict[str, Any] = dict(event.winlog)
    winlog["event_id"] = event.event_id
    if event.channel:
        winlog["channel"] = event.channel
    if event.provider:
        winlog["provider_name"] = event.provider
    if event.computer:
        winlog["computer_name"] = event.computer
    if event.record_id:
        winlog["record_id"] = event.record_id
    if data:
        winlog["event_data"] = data
    if event.user_data:
        winlog["user_data"] = event.user_data
    ecs["winlog"] = winlog
    if event.level:
        ecs["log"] = {"level": event.level}
    if event.computer:
        ecs["host"] = {"name": event.computer}

    user = _user(kind, event)
    if user:
        ecs["user"] = user
    if sysmon:
        process = process_of(data.get("Image"), data.get("ProcessId"))
        guid = present(data.get("ProcessGuid"))
        if guid:
            process["entity_id"] = guid
        if process:
            ecs["process"] = process
    elif "ProcessName" in data or "ProcessId" in data:
        process = process_of(data.get("ProcessName"), data.get("ProcessId"))
        if process:
            ecs["process"] = process
    source_ip = ip_of(data.get("IpAddress"))
    if source_ip:
        source: dict[str, Any] = {"ip": source_ip}
        port = as_int(data.get("IpPort"))
        if port:
            source["port"] = port
        ecs["source"] = source
    if kind and kind.fill:
        kind.fill(data, ecs)

    ecs["message"] = event.message or (kind.description if kind else f"{event.provider or 'Windows'} event {code}")
    related = _related(ecs)
    if related:
        ecs["related"] = related
    if event.assumed_utc:
        ecs["tags"] = [ASSUMED_UTC_TAG]
    return ecs


def _related(ecs: dict[str, Any]) -> dict[str, list[str]]:
    related: dict[str, list[str]] = {}

    def add(key: str, value: Any) -> None:
        if isinstance(value, str) and value:
            values = related.setdefault(key, [])
            if value not in values:
                values.append(value)

    user = ecs.get("user", {})
    add("user", user.get("name"))
    add("user", user.get("target", {}).get("name"))
    add("ip", ecs.get("source", {}).get("ip"))
    add("ip", ecs.get("destination", {}).get("ip"))
    add("hosts", ecs.get("host", {}).get("name"))
    for digest in ecs.get("process", {}).get("hash", {}).values():
        add("hash", digest)
    return related
