"""Flat Windows records: NXLog `im_msvistalog` JSON and OTRF exports (System fields and EventData side by side)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dagster_project.sources.values import parse_timestamp, shifted
from dagster_project.sources.windows.event import (
    WinEvent,
    as_int,
    audit_outcome,
    clean_data,
    level_name,
    opt_str,
    parse_event_id,
    stringify,
)

_FLAT_SYSTEM_KEYS = frozenset(
    {
        "EventID", "Channel", "Hostname", "Computer", "SourceName", "ProviderName", "ProviderGuid",
        "EventTime", "EventReceivedTime", "TimeCreated", "RecordNumber", "EventRecordID", "Keywords",
        "EventType", "Severity", "SeverityValue", "Level", "Task", "Category", "Opcode", "OpcodeValue",
        "Version", "ExecutionProcessID", "ThreadID", "ActivityID", "RelatedActivityID", "Message",
        "UserID", "AccountName", "AccountType", "Domain", "SourceModuleName", "SourceModuleType",
        "ERROR_EVT_UNRESOLVED", "@timestamp", "@version", "host", "port", "tags",
    }
)  # fmt: skip
"""NXLog `im_msvistalog` system and shipper fields; every other top-level key is EventData."""
_QUARTER_HOUR = 900


def _flat_timestamp(obj: dict[str, Any]) -> tuple[datetime, bool] | str:
    """The best UTC time a flat record offers, and whether it was a zoneless time read as UTC.

    In order: `TimeCreated` with a zone; NXLog `EventTime` corrected by the collector's offset;
    the shipper's `@timestamp`; Sysmon's `UtcTime`; a zoneless `TimeCreated`/`EventTime` as UTC.
    """
    created = obj.get("TimeCreated")
    if isinstance(created, str):
        aware = parse_timestamp(created, naive_is_utc=False)
        if aware is not None:
            return aware, False
    shipped = obj.get("@timestamp")
    shipped_at = parse_timestamp(shipped) if isinstance(shipped, str) else None
    event_time = obj.get("EventTime")
    local = parse_timestamp(event_time) if isinstance(event_time, str) else None
    received = obj.get("EventReceivedTime")
    received_local = parse_timestamp(received) if isinstance(received, str) else None
    if shipped_at and local and received_local:
        # NXLog writes EventTime/EventReceivedTime in the collector's local time without an offset;
        # the shipper's @timestamp (UTC) of the receipt reveals that offset to the quarter hour.
        lag = (shipped_at - received_local).total_seconds()
        offset = round(lag / _QUARTER_HOUR) * _QUARTER_HOUR
        corrected = shifted(local, timedelta(seconds=offset)) if abs(offset) <= 14 * 3600 else None
        if corrected is not None:
            return corrected, False
    if shipped_at:
        return shipped_at, False
    utc_time = obj.get("UtcTime")
    if isinstance(utc_time, str):
        sysmon_time = parse_timestamp(utc_time)
        if sysmon_time is not None:
            return sysmon_time, False
    for key in ("TimeCreated", "EventTime"):
        value = obj.get(key)
        if isinstance(value, str):
            naive = parse_timestamp(value)
            if naive is not None:
                return naive, True
            return f"unparseable {key} {value!r}"[:300]
    return "no timestamp (TimeCreated, EventTime, @timestamp or UtcTime)"


def from_flat(obj: dict[str, Any]) -> WinEvent | str:
    """Read a flat record (NXLog `im_msvistalog`, OTRF exports), or say why it is not one."""
    event_id = parse_event_id(obj.get("EventID"))
    if event_id is None:
        return f"invalid EventID {obj.get('EventID')!r}"[:300]
    when = _flat_timestamp(obj)
    if isinstance(when, str):
        return when
    timestamp, assumed_utc = when
    data = clean_data({k: v for k, v in obj.items() if k not in _FLAT_SYSTEM_KEYS})
    winlog: dict[str, Any] = {}
    for key, name in (
        ("Task", "task"),
        ("Category", "task"),
        ("Opcode", "opcode"),
        ("ActivityID", "activity_id"),
    ):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            winlog[name] = stringify(value)
    guid = obj.get("ProviderGuid")
    if isinstance(guid, str):
        winlog["provider_guid"] = guid
    version = as_int(obj.get("Version"))
    if version is not None:
        winlog["version"] = version
    process: dict[str, Any] = {}
    pid = as_int(obj.get("ExecutionProcessID"))
    if pid is not None:
        process["pid"] = pid
    tid = as_int(obj.get("ThreadID"))
    if tid is not None:
        process["thread"] = {"id": tid}
    if process:
        winlog["process"] = process
    user = {
        name: obj[key]
        for key, name in (
            ("UserID", "identifier"),
            ("AccountName", "name"),
            ("Domain", "domain"),
            ("AccountType", "type"),
        )  # noqa: E501
        if isinstance(obj.get(key), str)
    }
    if user:
        winlog["user"] = user
    keywords = obj.get("Keywords")
    if isinstance(keywords, str):
        winlog["keywords"] = [keywords]
    elif isinstance(keywords, int) and not isinstance(keywords, bool):
        winlog["keywords"] = [f"0x{keywords & 0xFFFFFFFFFFFFFFFF:016x}"]
    level = obj.get("Severity") or obj.get("Level")
    message = obj.get("Message")
    return WinEvent(
        event_id=event_id,
        timestamp=timestamp,
        channel=opt_str(obj.get("Channel")),
        provider=opt_str(obj.get("SourceName") or obj.get("ProviderName")),
        computer=opt_str(obj.get("Hostname") or obj.get("Computer")),
        record_id=opt_str(obj.get("RecordNumber", obj.get("EventRecordID"))),
        event_data=data,
        message=message if isinstance(message, str) else None,
        level=level_name(level) if isinstance(level, str | int) and not isinstance(level, bool) else None,
        assumed_utc=assumed_utc,
        outcome=audit_outcome(keywords, obj.get("EventType")),
        winlog=winlog,
    )
