"""JSON lines that are already ECS documents: validated, dotted keys expanded, passed through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected
from dagster_project.sources.readers import lines_without_bom
from dagster_project.sources.spec import SourceSpec
from dagster_project.sources.values import epoch_millis, json_type, load_json_object, parse_timestamp

NAME = "jsonl"


def expand_dotted(node: dict[str, Any], where: str = "") -> dict[str, Any] | str:
    """Expand dotted keys (`{"user.name": x}`) into nested objects, recursively; a conflict is a reason."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            expanded = expand_dotted(value, f"{where}{key}.")
            if isinstance(expanded, str):
                return expanded
            value = expanded
        elif isinstance(value, list):
            items: list[Any] = []
            for item in value:
                if isinstance(item, dict):
                    expanded = expand_dotted(item, f"{where}{key}.")
                    if isinstance(expanded, str):
                        return expanded
                    item = expanded
                items.append(item)
            value = items
        parts = key.split(".")
        if any(part == "" for part in parts):
            return f"invalid field name {where + key!r}"
        target = out
        for i, part in enumerate(parts[:-1]):
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                return f"field {where + key!r} conflicts with the value of {where + '.'.join(parts[: i + 1])!r}"
            target = child
        leaf = parts[-1]
        if leaf in target:
            merged = _merge(target[leaf], value)
            if merged is None:
                return f"field {where + key!r} is given twice (dotted and nested)"
            value = merged
        target[leaf] = value
    return out


def has_odd_key(node: dict[str, Any]) -> bool:
    """True when a key anywhere in the object is dotted or empty (so `expand_dotted` must run)."""
    for key, value in node.items():
        if not key or "." in key:
            return True
        if type(value) is dict:
            if has_odd_key(value):
                return True
        elif type(value) is list:
            for item in value:
                if type(item) is dict and has_odd_key(item):
                    return True
    return False


def _merge(old: Any, new: Any) -> dict[str, Any] | None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    merged = dict(old)
    for key, value in new.items():
        if key in merged:
            inner = _merge(merged[key], value)
            if inner is None:
                return None
            value = inner
        merged[key] = value
    return merged


class JsonlParser(GuardedParser):
    """Parser for JSON lines that already are ECS documents: validated and passed through."""

    name = NAME

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """One record per line (blank lines skipped, a leading BOM ignored), streaming."""
        return lines_without_bom(stream)

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Validate one ECS JSON line and pass it through; `event.original` becomes the line."""
        obj = load_json_object(record.text)
        if isinstance(obj, str):
            return Rejected(obj, record.line_no, record.text)
        # Most lines have no dotted key at all: a read-only walk spares rebuilding every object.
        fields = expand_dotted(obj) if has_odd_key(obj) else obj
        if isinstance(fields, str):
            return Rejected(fields, record.line_no, record.text)
        if "@timestamp" not in fields:
            return Rejected("missing @timestamp", record.line_no, record.text)
        raw_ts = fields.pop("@timestamp")
        timestamp = _ecs_timestamp(raw_ts)
        if timestamp is None:
            return Rejected(f"unparseable @timestamp {raw_ts!r}"[:300], record.line_no, record.text)
        for key in fields:
            if key.startswith("_"):
                return Rejected(f"field {key!r} is reserved for OpenSearch metadata", record.line_no, record.text)
        event = fields.get("event")
        if event is not None and not isinstance(event, dict):
            return Rejected(f"field 'event' must be an object, got {json_type(event)}", record.line_no, record.text)
        if isinstance(event, dict) and "original" in event:
            fields["event"] = {k: v for k, v in event.items() if k != "original"}
        return Event(timestamp=timestamp, original=record.text, fields=fields)


def _ecs_timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        return parse_timestamp(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_millis(value)
    return None


SPEC = SourceSpec(
    name=NAME,
    description="JSON lines that already are ECS documents",
    parser=JsonlParser,
)
