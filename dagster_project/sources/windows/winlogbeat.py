"""Winlogbeat records: 7/8 (`winlog.*`) and 6 (`event_id`, `log_name`, `event_data` at the top level)."""

from __future__ import annotations

from typing import Any

from dagster_project.sources.values import parse_timestamp
from dagster_project.sources.windows.event import (
    WinEvent,
    as_int,
    as_object,
    audit_outcome,
    clean_data,
    dig,
    level_name,
    opt_str,
    parse_event_id,
    winlog_process,
)


def _beat_common(
    obj: dict[str, Any], source: dict[str, Any], event_id: Any, channel: Any, provider: Any, computer: Any
) -> WinEvent | str:
    number = parse_event_id(event_id)
    if number is None:
        return f"missing or invalid event id {event_id!r}"[:300]
    when = obj.get("@timestamp")
    timestamp = parse_timestamp(when) if isinstance(when, str) else None
    if timestamp is None:
        return f"missing or unparseable @timestamp {when!r}"[:300]
    winlog: dict[str, Any] = {}
    for key in ("task", "opcode", "provider_guid", "activity_id", "api"):
        value = source.get(key)
        if isinstance(value, str) and value:
            winlog[key] = value
    version = as_int(source.get("version"))
    if version is not None:
        winlog["version"] = version
    keywords = source.get("keywords")
    if isinstance(keywords, list):
        winlog["keywords"] = [str(k) for k in keywords]
    user = source.get("user")
    if isinstance(user, dict):
        winlog["user"] = {k: v for k, v in user.items() if isinstance(v, str)}
    message = obj.get("message")
    return WinEvent(
        event_id=number,
        timestamp=timestamp,
        channel=opt_str(channel),
        provider=opt_str(provider),
        computer=opt_str(computer),
        record_id=opt_str(source.get("record_number", source.get("record_id"))),
        event_data=clean_data(source.get("event_data")),
        user_data=clean_data(source.get("user_data")) if isinstance(source.get("user_data"), dict) else None,
        message=message if isinstance(message, str) else None,
        outcome=audit_outcome(keywords),
        winlog=winlog,
    )


def from_winlogbeat(obj: dict[str, Any]) -> WinEvent | str:
    """Read a Winlogbeat 7/8 record (`winlog.*` beside ECS fields), or say why it is not one."""
    source = obj["winlog"]
    if not isinstance(source, dict):
        return "`winlog` is not an object"
    ecs_event = as_object(obj.get("event"))
    host = as_object(obj.get("host"))
    parsed = _beat_common(
        obj,
        source,
        source.get("event_id", ecs_event.get("code")),
        source.get("channel"),
        source.get("provider_name", ecs_event.get("provider")),
        source.get("computer_name", host.get("name")),
    )
    if isinstance(parsed, WinEvent):
        process = source.get("process")
        if isinstance(process, dict):
            parsed.winlog["process"] = process
        level = dig(obj, "log", "level")
        if isinstance(level, str):
            parsed.level = level_name(level)
    return parsed


def from_winlogbeat6(obj: dict[str, Any]) -> WinEvent | str:
    """Read a Winlogbeat 6 record (`event_id`, `log_name`, `event_data` at the top), or say why it is not one."""
    parsed = _beat_common(
        obj, obj, obj.get("event_id"), obj.get("log_name"), obj.get("source_name"), obj.get("computer_name")
    )
    if isinstance(parsed, WinEvent):
        process = winlog_process(obj.get("process_id"), obj.get("thread_id"))
        if process:
            parsed.winlog["process"] = process
        level = obj.get("level")
        if isinstance(level, str):
            parsed.level = level_name(level)
    return parsed
