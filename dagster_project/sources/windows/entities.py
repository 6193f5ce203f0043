"""ECS objects built from EventData values: processes, accounts, addresses, paths and hashes."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from dagster_project.sources.values import canonical_ip
from dagster_project.sources.windows.event import as_int, present

_NULL_SID = "S-1-0-0"
_HASH_KEYS = {"SHA1": "sha1", "MD5": "md5", "SHA256": "sha256", "IMPHASH": "imphash"}


def ip_of(value: Any) -> str | None:
    """The canonical IP address in an EventData value (`-`, junk and zone ids give None)."""
    if isinstance(value, str) and value not in ("", "-"):
        return canonical_ip(value.strip())
    return None


@lru_cache(maxsize=8192)
def basename(path: str) -> str:
    """The last part of a Windows (or POSIX) path."""
    return re.split(r"[\\/]", path)[-1]


@lru_cache(maxsize=8192)
def dirname(path: str) -> str:
    """A path without its last part; empty for a bare name."""
    parts = re.split(r"[\\/]", path)
    return path[: len(path) - len(parts[-1]) - 1] if len(parts) > 1 else ""


def process_of(executable: Any, pid: Any) -> dict[str, Any]:
    """ECS `process.executable`, `name` and `pid` from an image path and a process id."""
    process: dict[str, Any] = {}
    path = present(executable)
    if path:
        process["executable"] = path
        process["name"] = basename(path)
    number = as_int(pid)
    if number:  # 0 is how Security events say "no process"
        process["pid"] = number
    return process


def account_of(data: dict[str, Any], name_key: str, domain_key: str, *sid_keys: str) -> dict[str, Any]:
    """An ECS account (`name`, `domain`, `id` from the first SID that is not the null SID) from EventData."""
    account: dict[str, Any] = {}
    name = present(data.get(name_key))
    if name:
        account["name"] = name
    domain = present(data.get(domain_key))
    if domain:
        account["domain"] = domain
    for sid_key in sid_keys:
        sid = present(data.get(sid_key))
        if sid and sid != _NULL_SID:
            account["id"] = sid
            break
    return account


def common_name(distinguished_name: str) -> str:
    """`CN=John,OU=Users,DC=corp` -> `John`; other values unchanged."""
    if distinguished_name[:3].upper() == "CN=":
        return re.split(r"(?<!\\),", distinguished_name[3:], maxsplit=1)[0]
    return distinguished_name


def hashes_of(value: Any) -> dict[str, str]:
    """Sysmon `Hashes` (`SHA1=..,MD5=..`) -> ECS `hash.*` (`imphash` too, which ECS keeps at `pe.imphash`)."""
    if not isinstance(value, str):
        return {}
    out: dict[str, str] = {}
    for part in value.split(","):
        algorithm, _, digest = part.partition("=")
        key = _HASH_KEYS.get(algorithm.strip().upper())
        if key and digest:
            out[key] = digest.strip().lower()
    return out


def sysmon_user(value: Any) -> dict[str, Any]:
    """Sysmon's `User` (`DOMAIN\\name`) as an ECS account."""
    text = present(value)
    if not text:
        return {}
    domain, sep, name = text.rpartition("\\")
    return {"name": name, "domain": domain} if sep and domain else {"name": text}
