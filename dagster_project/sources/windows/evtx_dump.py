"""evtx_dump JSON (`{"Event": {"System": ..., "EventData": ...}}`), as the `evtx` reader and SigmaHQ write it."""

from __future__ import annotations

from typing import Any

from dagster_project.sources.values import parse_timestamp
from dagster_project.sources.windows.event import (
    LEVELS,
    WinEvent,
    as_int,
    audit_outcome,
    clean_data,
    dig,
    opt_str,
    parse_event_id,
    stringify,
    winlog_process,
)


def from_evtx_dump(obj: dict[str, Any]) -> WinEvent | str:
    """Read an evtx_dump record (`{"Event": {"System": ..., "EventData": ...}}`), or say why it is not one."""
    event = obj["Event"]
    if not isinstance(event, dict):
        return "`Event` is not an object"
    system = event.get("System")
    if not isinstance(system, dict):
        return "missing Event.System"
    event_id = parse_event_id(system.get("EventID"))
    if event_id is None:
        return f"missing or invalid Event.System.EventID {system.get('EventID')!r}"[:300]
    when = dig(system, "TimeCreated", "#attributes", "SystemTime")
    timestamp = parse_timestamp(when) if isinstance(when, str) else None
    if timestamp is None:
        return f"missing or unparseable Event.System.TimeCreated {when!r}"[:300]
    provider = dig(system, "Provider", "#attributes")
    provider = provider if isinstance(provider, dict) else {}
    user_data = None
    raw_user_data = event.get("UserData")
    if isinstance(raw_user_data, dict):
        inner = [(k, v) for k, v in raw_user_data.items() if k != "#attributes"]
        if len(inner) == 1 and isinstance(inner[0][1], dict):
            user_data = clean_data(inner[0][1])
            user_data["xml_name"] = inner[0][0]
        else:
            user_data = clean_data(raw_user_data)
    winlog: dict[str, Any] = {}
    execution = dig(system, "Execution", "#attributes")
    if isinstance(execution, dict):
        process = winlog_process(execution.get("ProcessID"), execution.get("ThreadID"))
        if process:
            winlog["process"] = process
    sid = dig(system, "Security", "#attributes", "UserID")
    if isinstance(sid, str):
        winlog["user"] = {"identifier": sid}
    for key, name in (("Task", "task"), ("Opcode", "opcode"), ("Version", "version")):
        value = system.get(key)
        if isinstance(value, int | str) and not isinstance(value, bool):
            winlog[name] = stringify(value) if name != "version" else as_int(value)
    keywords = system.get("Keywords")
    if isinstance(keywords, str):
        winlog["keywords"] = [keywords]
    guid = provider.get("Guid")
    if isinstance(guid, str):
        winlog["provider_guid"] = guid
    activity = dig(system, "Correlation", "#attributes", "ActivityID")
    if isinstance(activity, str):
        winlog["activity_id"] = activity
    level = as_int(system.get("Level"))
    rendered = dig(event, "RenderingInfo", "Message")
    return WinEvent(
        event_id=event_id,
        timestamp=timestamp,
        channel=opt_str(system.get("Channel")),
        provider=opt_str(provider.get("Name") or provider.get("EventSourceName")),
        computer=opt_str(system.get("Computer")),
        record_id=opt_str(system.get("EventRecordID")),
        event_data=clean_data(event.get("EventData")),
        user_data=user_data,
        message=rendered if isinstance(rendered, str) else None,
        level=LEVELS.get(level) if level is not None else None,
        outcome=audit_outcome(keywords),
        winlog=winlog,
    )
