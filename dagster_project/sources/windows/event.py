"""The Windows event as every export format reads it (`WinEvent`), and the value normalisers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagster_project.sources.values import compact_json

SECURITY = "Security"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"

LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
"""`log.level` by the numeric level of the evtx `System` element."""
_LEVEL_NAMES = {"info": "information", "warn": "warning", "crit": "critical", "debug": "verbose"}
_AUDIT_SUCCESS = 0x0020000000000000
_AUDIT_FAILURE = 0x0010000000000000


@dataclass(slots=True)
class WinEvent:
    """One Windows event, independent of the export format it came in."""

    event_id: int
    timestamp: datetime
    channel: str | None = None
    provider: str | None = None
    computer: str | None = None
    record_id: str | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    user_data: dict[str, Any] | None = None
    message: str | None = None
    level: str | None = None
    """`log.level`: information, warning, error, ... ."""
    assumed_utc: bool = False
    outcome: str | None = None
    """From the audit keywords: `success`, `failure`, or None when they do not say."""
    winlog: dict[str, Any] = field(default_factory=dict)
    """Further `winlog.*` fields (task, opcode, keywords, process, user, provider_guid, ...)."""


def present(value: Any) -> str | None:
    """A meaningful string: Windows writes `-` (or nothing) for an absent value."""
    if isinstance(value, str) and value not in ("", "-"):
        return value
    return None


def as_int(value: Any) -> int | None:
    """Parse decimal or `0x` hex ids and ports; None for `-`, empty or junk."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        if value[:2] in ("0x", "0X"):
            return int(value, 16)
        return int(value)
    except ValueError:
        return None


def stringify(value: Any) -> Any:
    """EventData as Winlogbeat keeps it: strings (one type per field across all formats)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [stringify(item) for item in value if item is not None]
    if isinstance(value, dict):
        return compact_json(value)
    return str(value)


def clean_data(data: Any) -> dict[str, Any]:
    """Normalise an EventData/UserData mapping: drop XML attributes and nulls, unnamed `Data` -> paramN."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or key == "#attributes" or not isinstance(key, str) or not key:
            continue
        if key == "Data" and isinstance(value, dict | list):
            texts = value.get("#text") if isinstance(value, dict) else value
            if not isinstance(texts, list):
                texts = [texts]
            for i, text in enumerate(texts, 1):
                if text is not None:
                    out[f"param{i}"] = stringify(text)
            continue
        if key == "#text":
            key = "param1"
        # A dot would turn one EventData name into an object path in the index.
        out[key.replace(".", "_")] = stringify(value)
    return out


def audit_outcome(keywords: Any, event_type: Any = None) -> str | None:
    """`success`/`failure` from the audit keywords in any of their export shapes."""
    if isinstance(event_type, str):
        upper = event_type.upper()
        if upper == "AUDIT_SUCCESS":
            return "success"
        if upper == "AUDIT_FAILURE":
            return "failure"
    mask: int | None = None
    if isinstance(keywords, int) and not isinstance(keywords, bool):
        mask = keywords & 0xFFFFFFFFFFFFFFFF
    elif isinstance(keywords, str) and keywords[:2] in ("0x", "0X"):
        mask = as_int(keywords)
    elif isinstance(keywords, str):
        keywords = [keywords]
    if isinstance(keywords, list):
        words = {str(k).lower() for k in keywords}
        if "audit success" in words:
            return "success"
        if "audit failure" in words:
            return "failure"
    if mask is not None:
        if mask & _AUDIT_FAILURE:
            return "failure"
        if mask & _AUDIT_SUCCESS:
            return "success"
    return None


def level_name(level: str | int) -> str:
    """Numeric (evtx) or textual (NXLog `INFO`, Winlogbeat `Information`) level -> one vocabulary."""
    number = as_int(level)
    if number is not None:
        return LEVELS.get(number, str(number))
    lowered = str(level).lower()
    return _LEVEL_NAMES.get(lowered, lowered)


def as_object(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def dig(node: Any, *path: str) -> Any:
    """The value at a path of keys in nested objects; None where the path breaks off."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def parse_event_id(value: Any) -> int | None:
    """An event id (0-65535, also as `{"#text": ...}` or hex text); None when it is not one."""
    if isinstance(value, dict):
        value = value.get("#text")
    number = as_int(value)
    if number is None or not 0 <= number <= 0xFFFF:
        return None
    return number


def opt_str(value: Any) -> str | None:
    """A scalar as non-empty text; None for objects, arrays, null and empty text."""
    if value is None or isinstance(value, dict | list):
        return None
    text = stringify(value)
    return text or None


def winlog_process(pid_value: Any, tid_value: Any) -> dict[str, Any]:
    """`winlog.process` ({"pid", "thread": {"id"}}) from raw ids; empty when neither is a number."""
    process: dict[str, Any] = {}
    pid = as_int(pid_value)
    if pid is not None:
        process["pid"] = pid
    tid = as_int(tid_value)
    if tid is not None:
        process["thread"] = {"id": tid}
    return process


def is_sysmon(event: WinEvent) -> bool:
    """True for Sysmon's events, by channel or (when forwarded to another channel) by provider."""
    return event.channel == SYSMON or event.provider == SYSMON_PROVIDER
