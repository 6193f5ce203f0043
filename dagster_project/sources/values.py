"""The value parsers every source shares: times, IP addresses, host names and JSON objects.

Each one turns text into a value or None (or a reason), never an exception, so that a parser built on
them rejects bad input with a reason instead of reaching the parse guard with a crash.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from ipaddress import IPv6Address, ip_address
from typing import Any

import orjson

MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
"""English month abbreviations (syslog and Apache timestamps) to month numbers."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_.])?")


def utc(value: datetime) -> datetime | None:
    """An aware datetime in UTC; None when UTC would fall outside years 1-9999 (e.g. 0001-01-01+01:00)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def shifted(value: datetime, delta: timedelta) -> datetime | None:
    """`value + delta`, or None when the result falls outside years 1-9999."""
    try:
        return value + delta
    except OverflowError:
        return None


def parse_timestamp(value: str, *, naive_is_utc: bool = True) -> datetime | None:
    """Parse an ISO 8601 / RFC 3339 timestamp to an aware UTC datetime; None when it is not one.

    Fractions finer than microseconds are truncated. A timestamp without an offset is taken as
    UTC when `naive_is_utc` (OpenSearch does the same), else None is returned.
    """
    if not 8 <= len(value) <= 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        trimmed = _FRACTION.sub(r"\1", value)
        if trimmed == value:
            return None
        try:
            parsed = datetime.fromisoformat(trimmed)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            return None
        return parsed.replace(tzinfo=UTC)
    return utc(parsed)


def epoch_millis(value: float) -> datetime | None:
    """Epoch milliseconds (OpenSearch's numeric date format) as a UTC datetime; None if out of range."""
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        return None


@lru_cache(maxsize=8192)
def canonical_ip(value: str) -> str | None:
    """The canonical text of an IP address, or None when `value` is not one (or has a zone id).

    A zone id (`fe80::1%eth0`) is refused because OpenSearch's `ip` type cannot hold it.
    """
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.scope_id:
        return None
    return str(address)


def is_hostname(value: str) -> bool:
    """True when `value` has the shape of a host name (letters, digits, `_`, `.`, `-`; at most 254)."""
    return _HOSTNAME.fullmatch(value) is not None


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_SHAPE = bytes.maketrans(b"123456789{", b"000000000[")
"""Every digit to `0` and `{` to `[`: one pass then shows runs of digits and counts opening brackets."""
_LONG_NUMBER = b"0" * 19
"""19 digits in a row: the shortest integer that may not fit in 64 bits (orjson would make it a float)."""
_SHALLOW = 800
"""Fewer opening brackets than this: nesting the stdlib decoder reads at any stack depth, as orjson does."""
_NOT_FAST = object()


def _fast_decode(text: str) -> Any:
    """orjson's reading of `text` where it is provably the stdlib's, else `_NOT_FAST`.

    orjson reads four times faster and gives the same values (floats correctly rounded, the last of
    duplicate keys, the same strings), except that it turns an integer beyond 64 bits into a float and
    refuses lone surrogates, NaN, overflowing floats and nesting past 1024, where the stdlib decoder's own
    limit (about 1000, less the caller's stack) is lower: text with 19 digits in a row, with `_SHALLOW`
    opening brackets or more, or that orjson refuses goes to the stdlib decoder, which gives the value or
    the reason it always gave.
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:  # lone surrogates (undecodable bytes carried through)
        return _NOT_FAST
    shape = data.translate(_SHAPE)
    if _LONG_NUMBER in shape or shape.count(b"[") >= _SHALLOW:
        return _NOT_FAST
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_FAST


def load_json_object(text: str) -> dict[str, Any] | str:
    """Decode one JSON object; on failure return the reason as a string instead of raising."""
    value = _fast_decode(text)
    if value is _NOT_FAST:
        return stdlib_json_object(text)
    if not isinstance(value, dict):
        return f"JSON value is {json_type(value)}, expected an object"
    return value


def stdlib_json_object(text: str) -> dict[str, Any] | str:
    """`load_json_object` by the stdlib decoder alone: the reference the orjson path must agree with."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return f"JSON value is {json_type(value)}, expected an object"
    return value


def json_type(value: Any) -> str:
    """How a reject reason names the type of a JSON value (`an array`, `a string`, `null`, ...)."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def compact_json(value: Any) -> str:
    """Serialise a JSON value compactly with sorted keys, so equal records give equal text."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)
