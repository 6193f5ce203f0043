"""Windows event logs: `.evtx` files, evtx_dump JSON, Winlogbeat (6.x and later) and flat NXLog-style JSON."""

from __future__ import annotations

import io
import ipaddress
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, BinaryIO, cast

from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, SourceParser, guarded_parse
from dagster_project.sources.jsonl import compact_json, iter_json_records, load_json_object, parse_timestamp
from dagster_project.storage import naming

NAME = "windows"

SECURITY = "Security"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
_SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
_DATASETS = {
    "security": "windows.security",
    "microsoft-windows-sysmon/operational": "windows.sysmon_operational",
    "windows powershell": "windows.powershell",
    "system": "windows.system",
}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

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

_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_AUDIT_SUCCESS = 0x0020000000000000
_AUDIT_FAILURE = 0x0010000000000000
_QUARTER_HOUR = 900
_NULL_SID = "S-1-0-0"
ASSUMED_UTC_TAG = "timestamp_assumed_utc"
"""Tag on events whose only time had no zone (OTRF exports' local `TimeCreated`), read as UTC."""
_LOGON_TYPES = {
    "0": "System",
    "2": "Interactive",
    "3": "Network",
    "4": "Batch",
    "5": "Service",
    "7": "Unlock",
    "8": "NetworkCleartext",
    "9": "NewCredentials",
    "10": "RemoteInteractive",
    "11": "CachedInteractive",
    "12": "CachedRemoteInteractive",
    "13": "CachedUnlock",
}


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


@dataclass(frozen=True, slots=True)
class Kind:
    """How one event code is normalised: ECS classification, the user it names and extra filling."""

    action: str
    category: tuple[str, ...]
    type: tuple[str, ...]
    description: str
    outcome: str | None = None
    """Fixed outcome; None takes it from the audit keywords (or `unknown`)."""
    user: str = "subject"
    """Whose account `user.*` describes: `subject`, `target`, `sysmon` (the `User` field) or `userdata`."""
    fill: Callable[[dict[str, str], dict[str, Any]], None] | None = None


def _fill_logon(data: dict[str, str], ecs: dict[str, Any]) -> None:
    logon: dict[str, Any] = {}
    logon_type = data.get("LogonType")
    if logon_type:
        logon["type"] = _LOGON_TYPES.get(logon_type, logon_type)
    logon_id = _value(data.get("TargetLogonId"))
    if logon_id:
        logon["id"] = logon_id
    failure = {
        key: data[name]
        for key, name in (("status", "Status"), ("sub_status", "SubStatus"), ("reason", "FailureReason"))
        if _value(data.get(name))
    }
    if failure:
        logon["failure"] = failure
    if logon:
        ecs.setdefault("winlog", {})["logon"] = logon
    workstation = _value(data.get("WorkstationName"))
    if workstation:
        ecs.setdefault("source", {})["domain"] = workstation


def _fill_process_created(data: dict[str, str], ecs: dict[str, Any]) -> None:
    process = _process(data.get("NewProcessName"), data.get("NewProcessId"))
    command_line = _value(data.get("CommandLine"))
    if command_line:
        process["command_line"] = command_line
    parent = _process(data.get("ParentProcessName"), data.get("ProcessId"))
    if parent:
        process["parent"] = parent
    if process:
        ecs["process"] = process


def _fill_user_target(data: dict[str, str], ecs: dict[str, Any]) -> None:
    target = _account(data, "TargetUserName", "TargetDomainName", "TargetSid")
    if target:
        ecs.setdefault("user", {})["target"] = target


def _fill_group_member(data: dict[str, str], ecs: dict[str, Any]) -> None:
    group = _account(data, "TargetUserName", "TargetDomainName", "TargetSid")
    if group:
        ecs["group"] = group
    member: dict[str, Any] = {}
    member_name = _value(data.get("MemberName"))
    if member_name:
        member["name"] = _cn(member_name)
    member_sid = _value(data.get("MemberSid"))
    if member_sid:
        member["id"] = member_sid
    if group:
        member["group"] = {k: v for k, v in group.items() if k in ("name", "id")}
    if member:
        ecs.setdefault("user", {})["target"] = member


def _fill_sysmon_process(data: dict[str, str], ecs: dict[str, Any]) -> None:
    process = ecs.setdefault("process", {})
    for key, name in (
        ("command_line", "CommandLine"),
        ("working_directory", "CurrentDirectory"),
    ):
        value = _value(data.get(name))
        if value:
            process[key] = value
    parent = _process(data.get("ParentImage"), data.get("ParentProcessId"))
    parent_command_line = _value(data.get("ParentCommandLine"))
    if parent_command_line:
        parent["command_line"] = parent_command_line
    parent_guid = _value(data.get("ParentProcessGuid"))
    if parent_guid:
        parent["entity_id"] = parent_guid
    if parent:
        process["parent"] = parent
    hashes = _hashes(data.get("Hashes"))
    if hashes:
        process["hash"] = hashes


def _fill_sysmon_network(data: dict[str, str], ecs: dict[str, Any]) -> None:
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        endpoint: dict[str, Any] = {}
        ip = _ip(data.get(f"{prefix}Ip"))
        if ip:
            endpoint["ip"] = ip
        port = _int(data.get(f"{prefix}Port"))
        if port is not None:
            endpoint["port"] = port
        hostname = _value(data.get(f"{prefix}Hostname"))
        if hostname:
            endpoint["domain"] = hostname
        if endpoint:
            ecs.setdefault(side, {}).update(endpoint)
    network: dict[str, Any] = {}
    transport = _value(data.get("Protocol"))
    if transport:
        network["transport"] = transport.lower()
    initiated = data.get("Initiated")
    if initiated in ("true", "false"):
        network["direction"] = "egress" if initiated == "true" else "ingress"
    if network:
        ecs["network"] = network


def _fill_file(data: dict[str, str], ecs: dict[str, Any]) -> None:
    path = _value(data.get("TargetFilename"))
    if path:
        ecs["file"] = {"path": path, "name": _basename(path), "directory": _dirname(path)}


def _fill_registry(data: dict[str, str], ecs: dict[str, Any]) -> None:
    path = _value(data.get("TargetObject"))
    if path:
        registry: dict[str, Any] = {"path": path}
        details = _value(data.get("Details"))
        if details:
            registry["data"] = {"strings": [details]}
        ecs["registry"] = registry


def _fill_dns(data: dict[str, str], ecs: dict[str, Any]) -> None:
    name = _value(data.get("QueryName"))
    if name:
        ecs["dns"] = {"question": {"name": name}}


def _fill_service(data: dict[str, str], ecs: dict[str, Any]) -> None:
    name = _value(data.get("ServiceName"))
    if name:
        ecs["service"] = {"name": name}


def _fill_kerberos(data: dict[str, str], ecs: dict[str, Any]) -> None:
    status = _value(data.get("Status"))
    if status and status != "0x0":
        ecs.setdefault("winlog", {})["logon"] = {"failure": {"status": status}}


_AUTH = ("authentication",)
_IAM = ("iam",)
_IAM_CONFIG = ("iam", "configuration")

SECURITY_KINDS: dict[int, Kind] = {
    1102: Kind("audit-log-cleared", _IAM, ("admin", "change"), "The audit log was cleared", "success", "userdata"),
    4624: Kind(
        "logged-in",
        _AUTH,
        ("start",),
        "An account was successfully logged on",
        "success",
        "target",
        _fill_logon,
    ),
    4625: Kind("logon-failed", _AUTH, ("start",), "An account failed to log on", "failure", "target", _fill_logon),
    4634: Kind("logged-out", _AUTH, ("end",), "An account was logged off", "success", "target", _fill_logon),
    4647: Kind("logged-out", _AUTH, ("end",), "User initiated logoff", "success", "target", _fill_logon),
    4648: Kind(
        "logged-in-explicit",
        _AUTH,
        ("start",),
        "A logon was attempted using explicit credentials",
        "success",
        "subject",
        _fill_user_target,
    ),
    4672: Kind("logged-in-special", _IAM, ("admin",), "Special privileges assigned to new logon", "success"),
    4688: Kind(
        "created-process",
        ("process",),
        ("start",),
        "A new process has been created",
        "success",
        "subject",
        _fill_process_created,
    ),
    4689: Kind("exited-process", ("process",), ("end",), "A process has exited", "success"),
    4697: Kind(
        "service-installed",
        _IAM_CONFIG,
        ("admin", "change"),
        "A service was installed in the system",
        "success",
        "subject",
        _fill_service,
    ),
    4698: Kind(
        "scheduled-task-created",
        _IAM_CONFIG,
        ("creation", "admin"),
        "A scheduled task was created",
        "success",
    ),
    4699: Kind(
        "scheduled-task-deleted",
        _IAM_CONFIG,
        ("deletion", "admin"),
        "A scheduled task was deleted",
        "success",
    ),
    4702: Kind("scheduled-task-updated", _IAM_CONFIG, ("change", "admin"), "A scheduled task was updated", "success"),
    4719: Kind("changed-audit-config", _IAM_CONFIG, ("admin", "change"), "System audit policy was changed", "success"),
    4720: Kind(
        "added-user-account",
        _IAM,
        ("user", "creation"),
        "A user account was created",
        "success",
        "subject",
        _fill_user_target,
    ),
    4722: Kind(
        "enabled-user-account",
        _IAM,
        ("user", "change"),
        "A user account was enabled",
        "success",
        "subject",
        _fill_user_target,
    ),
    4723: Kind(
        "changed-password",
        _IAM,
        ("user", "change"),
        "An attempt was made to change an account's password",
        None,
        "subject",
        _fill_user_target,
    ),
    4724: Kind(
        "reset-password",
        _IAM,
        ("user", "change"),
        "An attempt was made to reset an account's password",
        None,
        "subject",
        _fill_user_target,
    ),
    4725: Kind(
        "disabled-user-account",
        _IAM,
        ("user", "change"),
        "A user account was disabled",
        "success",
        "subject",
        _fill_user_target,
    ),
    4726: Kind(
        "deleted-user-account",
        _IAM,
        ("user", "deletion"),
        "A user account was deleted",
        "success",
        "subject",
        _fill_user_target,
    ),
    4728: Kind(
        "added-member-to-group",
        _IAM,
        ("group", "change"),
        "A member was added to a security-enabled global group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4729: Kind(
        "removed-member-from-group",
        _IAM,
        ("group", "change"),
        "A member was removed from a security-enabled global group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4732: Kind(
        "added-member-to-group",
        _IAM,
        ("group", "change"),
        "A member was added to a security-enabled local group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4733: Kind(
        "removed-member-from-group",
        _IAM,
        ("group", "change"),
        "A member was removed from a security-enabled local group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4738: Kind(
        "modified-user-account",
        _IAM,
        ("user", "change"),
        "A user account was changed",
        "success",
        "subject",
        _fill_user_target,
    ),
    4740: Kind(
        "locked-out-user-account",
        _IAM,
        ("user", "change"),
        "A user account was locked out",
        "success",
        "subject",
        _fill_user_target,
    ),
    4756: Kind(
        "added-member-to-group",
        _IAM,
        ("group", "change"),
        "A member was added to a security-enabled universal group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4757: Kind(
        "removed-member-from-group",
        _IAM,
        ("group", "change"),
        "A member was removed from a security-enabled universal group",
        "success",
        "subject",
        _fill_group_member,
    ),
    4768: Kind(
        "kerberos-authentication-ticket-requested",
        _AUTH,
        ("start",),
        "A Kerberos authentication ticket (TGT) was requested",
        None,
        "target",
        _fill_kerberos,
    ),
    4769: Kind(
        "kerberos-service-ticket-requested",
        _AUTH,
        ("start",),
        "A Kerberos service ticket was requested",
        None,
        "target",
        _fill_kerberos,
    ),
    4771: Kind(
        "kerberos-preauth-failed",
        _AUTH,
        ("start",),
        "Kerberos pre-authentication failed",
        "failure",
        "target",
        _fill_kerberos,
    ),
    4776: Kind(
        "credential-validated",
        _AUTH,
        ("start",),
        "The computer attempted to validate the credentials for an account",
        None,
        "target",
        _fill_kerberos,
    ),
}

SYSMON_KINDS: dict[int, Kind] = {
    1: Kind(
        "process-created",
        ("process",),
        ("start",),
        "Process Create",
        "success",
        "sysmon",
        _fill_sysmon_process,
    ),
    3: Kind(
        "network-connection",
        ("network",),
        ("connection", "start"),
        "Network connection detected",
        "success",
        "sysmon",
        _fill_sysmon_network,
    ),
    5: Kind("process-terminated", ("process",), ("end",), "Process terminated", "success", "sysmon"),
    7: Kind("image-loaded", ("process",), ("change",), "Image loaded", "success", "sysmon"),
    8: Kind("create-remote-thread", ("process",), ("change",), "CreateRemoteThread detected", "success", "sysmon"),
    10: Kind("process-accessed", ("process",), ("access",), "Process accessed", "success", "sysmon"),
    11: Kind("file-created", ("file",), ("creation",), "File created", "success", "sysmon", _fill_file),
    12: Kind(
        "registry-key-created-or-deleted",
        ("configuration", "registry"),
        ("change",),
        "Registry object added or deleted",
        "success",
        "sysmon",
        _fill_registry,
    ),
    13: Kind(
        "registry-value-set",
        ("configuration", "registry"),
        ("change",),
        "Registry value set",
        "success",
        "sysmon",
        _fill_registry,
    ),
    14: Kind(
        "registry-key-renamed",
        ("configuration", "registry"),
        ("change",),
        "Registry object renamed",
        "success",
        "sysmon",
        _fill_registry,
    ),
    22: Kind("dns-query", ("network",), ("protocol", "info"), "Dns query", "success", "sysmon", _fill_dns),
    23: Kind("file-deleted", ("file",), ("deletion",), "File Delete archived", "success", "sysmon", _fill_file),
}

SYSTEM_KINDS: dict[int, Kind] = {
    104: Kind("log-cleared", _IAM, ("admin", "change"), "The System log file was cleared", "success", "userdata"),
    7045: Kind(
        "service-installed",
        ("configuration",),
        ("creation",),
        "A service was installed in the system",
        "success",
        "none",
        _fill_service,
    ),
}

_GENERIC_CATEGORY = ["host"]
_GENERIC_TYPE = ["info"]


@lru_cache(maxsize=256)
def dataset(channel: str | None) -> str:
    """`event.dataset` for a channel: `windows.security`, `windows.sysmon_operational`, ... ."""
    if not channel:
        return "windows.unknown"
    lowered = channel.lower()
    known = _DATASETS.get(lowered)
    if known:
        return known
    return "windows." + (_NON_ALNUM.sub("_", lowered).strip("_") or "unknown")


def _kind(event: WinEvent) -> Kind | None:
    if event.channel == SYSMON or event.provider == _SYSMON_PROVIDER:
        return SYSMON_KINDS.get(event.event_id)
    if event.channel == SECURITY:
        return SECURITY_KINDS.get(event.event_id)
    if event.channel == "System":
        return SYSTEM_KINDS.get(event.event_id)
    return None


def _value(value: Any) -> str | None:
    """A meaningful string: Windows writes `-` (or nothing) for an absent value."""
    if isinstance(value, str) and value not in ("", "-"):
        return value
    return None


@lru_cache(maxsize=8192)
def _ip_cached(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _ip(value: Any) -> str | None:
    if isinstance(value, str) and value not in ("", "-"):
        return _ip_cached(value)
    return None


def _int(value: Any) -> int | None:
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


@lru_cache(maxsize=8192)
def _basename(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


@lru_cache(maxsize=8192)
def _dirname(path: str) -> str:
    parts = re.split(r"[\\/]", path)
    return path[: len(path) - len(parts[-1]) - 1] if len(parts) > 1 else ""


def _process(executable: Any, pid: Any) -> dict[str, Any]:
    process: dict[str, Any] = {}
    path = _value(executable)
    if path:
        process["executable"] = path
        process["name"] = _basename(path)
    number = _int(pid)
    if number:  # 0 is how Security events say "no process"
        process["pid"] = number
    return process


def _account(data: dict[str, Any], name_key: str, domain_key: str, *sid_keys: str) -> dict[str, Any]:
    account: dict[str, Any] = {}
    name = _value(data.get(name_key))
    if name:
        account["name"] = name
    domain = _value(data.get(domain_key))
    if domain:
        account["domain"] = domain
    for sid_key in sid_keys:
        sid = _value(data.get(sid_key))
        if sid and sid != _NULL_SID:
            account["id"] = sid
            break
    return account


def _cn(distinguished_name: str) -> str:
    """`CN=John,OU=Users,DC=corp` -> `John`; other values unchanged."""
    if distinguished_name[:3].upper() == "CN=":
        return re.split(r"(?<!\\),", distinguished_name[3:], maxsplit=1)[0]
    return distinguished_name


_HASH_KEYS = {"SHA1": "sha1", "MD5": "md5", "SHA256": "sha256", "IMPHASH": "imphash"}


def _hashes(value: Any) -> dict[str, str]:
    """Sysmon `Hashes` (`SHA1=..,MD5=..`) -> `process.hash.*`."""
    if not isinstance(value, str):
        return {}
    out: dict[str, str] = {}
    for part in value.split(","):
        algorithm, _, digest = part.partition("=")
        key = _HASH_KEYS.get(algorithm.strip().upper())
        if key and digest:
            out[key] = digest.strip().lower()
    return out


def _sysmon_user(value: Any) -> dict[str, Any]:
    text = _value(value)
    if not text:
        return {}
    domain, sep, name = text.rpartition("\\")
    return {"name": name, "domain": domain} if sep and domain else {"name": text}


def _stringify(value: Any) -> Any:
    """EventData as Winlogbeat keeps it: strings (one type per field across all formats)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_stringify(item) for item in value if item is not None]
    if isinstance(value, dict):
        return compact_json(value)
    return str(value)


def _clean_data(data: Any) -> dict[str, Any]:
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
                    out[f"param{i}"] = _stringify(text)
            continue
        if key == "#text":
            key = "param1"
        # A dot would turn one EventData name into an object path in the index.
        out[key.replace(".", "_")] = _stringify(value)
    return out


def _audit_outcome(keywords: Any, event_type: Any = None) -> str | None:
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
        mask = _int(keywords)
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


_LEVEL_NAMES = {"info": "information", "warn": "warning", "crit": "critical", "debug": "verbose"}


def _level_name(level: str | int) -> str:
    """Numeric (evtx) or textual (NXLog `INFO`, Winlogbeat `Information`) level -> one vocabulary."""
    number = _int(level)
    if number is not None:
        return _LEVELS.get(number, str(number))
    lowered = str(level).lower()
    return _LEVEL_NAMES.get(lowered, lowered)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _attr(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _event_id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("#text")
    number = _int(value)
    if number is None or not 0 <= number <= 0xFFFF:
        return None
    return number


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = _stringify(value)
    return text or None


def _from_evtx(obj: dict[str, Any]) -> WinEvent | str:
    event = obj["Event"]
    if not isinstance(event, dict):
        return "`Event` is not an object"
    system = event.get("System")
    if not isinstance(system, dict):
        return "missing Event.System"
    event_id = _event_id(system.get("EventID"))
    if event_id is None:
        return f"missing or invalid Event.System.EventID {system.get('EventID')!r}"[:300]
    when = _attr(system, "TimeCreated", "#attributes", "SystemTime")
    timestamp = parse_timestamp(when) if isinstance(when, str) else None
    if timestamp is None:
        return f"missing or unparseable Event.System.TimeCreated {when!r}"[:300]
    provider = _attr(system, "Provider", "#attributes")
    provider = provider if isinstance(provider, dict) else {}
    user_data = None
    raw_user_data = event.get("UserData")
    if isinstance(raw_user_data, dict):
        inner = [(k, v) for k, v in raw_user_data.items() if k != "#attributes"]
        if len(inner) == 1 and isinstance(inner[0][1], dict):
            user_data = _clean_data(inner[0][1])
            user_data["xml_name"] = inner[0][0]
        else:
            user_data = _clean_data(raw_user_data)
    winlog: dict[str, Any] = {}
    execution = _attr(system, "Execution", "#attributes")
    if isinstance(execution, dict):
        process = _winlog_process(execution.get("ProcessID"), execution.get("ThreadID"))
        if process:
            winlog["process"] = process
    sid = _attr(system, "Security", "#attributes", "UserID")
    if isinstance(sid, str):
        winlog["user"] = {"identifier": sid}
    for key, name in (("Task", "task"), ("Opcode", "opcode"), ("Version", "version")):
        value = system.get(key)
        if isinstance(value, int | str) and not isinstance(value, bool):
            winlog[name] = _stringify(value) if name != "version" else _int(value)
    keywords = system.get("Keywords")
    if isinstance(keywords, str):
        winlog["keywords"] = [keywords]
    guid = provider.get("Guid")
    if isinstance(guid, str):
        winlog["provider_guid"] = guid
    activity = _attr(system, "Correlation", "#attributes", "ActivityID")
    if isinstance(activity, str):
        winlog["activity_id"] = activity
    level = _int(system.get("Level"))
    rendered = _attr(event, "RenderingInfo", "Message")
    return WinEvent(
        event_id=event_id,
        timestamp=timestamp,
        channel=_opt_str(system.get("Channel")),
        provider=_opt_str(provider.get("Name") or provider.get("EventSourceName")),
        computer=_opt_str(system.get("Computer")),
        record_id=_opt_str(system.get("EventRecordID")),
        event_data=_clean_data(event.get("EventData")),
        user_data=user_data,
        message=rendered if isinstance(rendered, str) else None,
        level=_LEVELS.get(level) if level is not None else None,
        outcome=_audit_outcome(keywords),
        winlog=winlog,
    )


def _beat_common(
    obj: dict[str, Any], source: dict[str, Any], event_id: Any, channel: Any, provider: Any, computer: Any
) -> WinEvent | str:
    number = _event_id(event_id)
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
    version = _int(source.get("version"))
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
        channel=_opt_str(channel),
        provider=_opt_str(provider),
        computer=_opt_str(computer),
        record_id=_opt_str(source.get("record_number", source.get("record_id"))),
        event_data=_clean_data(source.get("event_data")),
        user_data=_clean_data(source.get("user_data")) if isinstance(source.get("user_data"), dict) else None,
        message=message if isinstance(message, str) else None,
        outcome=_audit_outcome(keywords),
        winlog=winlog,
    )


def _from_winlogbeat(obj: dict[str, Any]) -> WinEvent | str:
    source = obj["winlog"]
    if not isinstance(source, dict):
        return "`winlog` is not an object"
    ecs_event = _mapping(obj.get("event"))
    host = _mapping(obj.get("host"))
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
        level = _attr(obj, "log", "level")
        if isinstance(level, str):
            parsed.level = _level_name(level)
    return parsed


def _winlog_process(pid_value: Any, tid_value: Any) -> dict[str, Any]:
    """`winlog.process` ({"pid", "thread": {"id"}}) from raw ids; empty when neither is a number."""
    process: dict[str, Any] = {}
    pid = _int(pid_value)
    if pid is not None:
        process["pid"] = pid
    tid = _int(tid_value)
    if tid is not None:
        process["thread"] = {"id": tid}
    return process


def _from_winlogbeat6(obj: dict[str, Any]) -> WinEvent | str:
    parsed = _beat_common(
        obj, obj, obj.get("event_id"), obj.get("log_name"), obj.get("source_name"), obj.get("computer_name")
    )
    if isinstance(parsed, WinEvent):
        process = _winlog_process(obj.get("process_id"), obj.get("thread_id"))
        if process:
            parsed.winlog["process"] = process
        level = obj.get("level")
        if isinstance(level, str):
            parsed.level = _level_name(level)
    return parsed


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
        if abs(offset) <= 14 * 3600:
            return local + timedelta(seconds=offset), False
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


def _from_flat(obj: dict[str, Any]) -> WinEvent | str:
    event_id = _event_id(obj.get("EventID"))
    if event_id is None:
        return f"invalid EventID {obj.get('EventID')!r}"[:300]
    when = _flat_timestamp(obj)
    if isinstance(when, str):
        return when
    timestamp, assumed_utc = when
    data = _clean_data({k: v for k, v in obj.items() if k not in _FLAT_SYSTEM_KEYS})
    winlog: dict[str, Any] = {}
    for key, name in (
        ("Task", "task"),
        ("Category", "task"),
        ("Opcode", "opcode"),
        ("ActivityID", "activity_id"),
    ):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            winlog[name] = _stringify(value)
    guid = obj.get("ProviderGuid")
    if isinstance(guid, str):
        winlog["provider_guid"] = guid
    version = _int(obj.get("Version"))
    if version is not None:
        winlog["version"] = version
    process: dict[str, Any] = {}
    pid = _int(obj.get("ExecutionProcessID"))
    if pid is not None:
        process["pid"] = pid
    tid = _int(obj.get("ThreadID"))
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
        channel=_opt_str(obj.get("Channel")),
        provider=_opt_str(obj.get("SourceName") or obj.get("ProviderName")),
        computer=_opt_str(obj.get("Hostname") or obj.get("Computer")),
        record_id=_opt_str(obj.get("RecordNumber", obj.get("EventRecordID"))),
        event_data=data,
        message=message if isinstance(message, str) else None,
        level=_level_name(level) if isinstance(level, str | int) and not isinstance(level, bool) else None,
        assumed_utc=assumed_utc,
        outcome=_audit_outcome(keywords, obj.get("EventType")),
        winlog=winlog,
    )


def extract(obj: dict[str, Any]) -> WinEvent | str:
    """Recognise the export format of one JSON record and read it; a reason string when it is none."""
    if "Event" in obj:
        return _from_evtx(obj)
    if "winlog" in obj:
        return _from_winlogbeat(obj)
    if "event_data" in obj or ("log_name" in obj and "event_id" in obj):
        return _from_winlogbeat6(obj)
    if "EventID" in obj:
        return _from_flat(obj)
    return "not a Windows event (no Event, winlog, event_id/log_name or EventID key)"


def _user(kind: Kind | None, event: WinEvent) -> dict[str, Any]:
    data = event.event_data
    role = kind.user if kind else ("sysmon" if "User" in data and "SubjectUserName" not in data else "subject")
    if role == "subject":
        return _account(data, "SubjectUserName", "SubjectDomainName", "SubjectUserSid")
    if role == "target":
        return _account(data, "TargetUserName", "TargetDomainName", "TargetUserSid", "TargetSid")
    if role == "sysmon":
        return _sysmon_user(data.get("User"))
    if role == "userdata" and event.user_data:
        return _account(event.user_data, "SubjectUserName", "SubjectDomainName", "SubjectUserSid")
    return {}


def to_ecs(event: WinEvent) -> dict[str, Any]:
    """The ECS fields of one Windows event (without `@timestamp`/`event.original`)."""
    kind = _kind(event)
    data = event.event_data
    code = str(event.event_id)
    ecs: dict[str, Any] = {}
    outcome = (kind.outcome if kind else None) or event.outcome
    if kind and kind.fill is _fill_kerberos and kind.outcome is None:
        status = _value(data.get("Status"))
        outcome = "success" if status in (None, "0x0") else "failure"
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
    is_sysmon = event.channel == SYSMON or event.provider == _SYSMON_PROVIDER
    if is_sysmon:
        process = _process(data.get("Image"), data.get("ProcessId"))
        guid = _value(data.get("ProcessGuid"))
        if guid:
            process["entity_id"] = guid
        if process:
            ecs["process"] = process
    elif "ProcessName" in data or "ProcessId" in data:
        process = _process(data.get("ProcessName"), data.get("ProcessId"))
        if process:
            ecs["process"] = process
    source_ip = _ip(data.get("IpAddress"))
    if source_ip:
        source: dict[str, Any] = {"ip": source_ip}
        port = _int(data.get("IpPort"))
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


class WindowsParser:
    """Parser for Windows events in any of the supported export formats."""

    name = NAME

    def __init__(self, context: SourceContext) -> None:
        self._context = context

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """`.evtx` files record by record through `evtx`; anything else as JSON (lines or documents)."""
        name = path.lower()
        for suffix in (".gz", ".bz2", ".xz", ".zst"):
            name = name.removesuffix(suffix)
        if name.endswith(".evtx"):
            return _evtx_records(stream, path)
        return iter_json_records(stream)

    def parse(self, record: RawRecord) -> Event | Rejected:
        """Map one Windows event record to ECS, or reject it with a reason."""
        return guarded_parse(record, _event, "windows")


def _event(record: RawRecord) -> Event | Rejected:
    """The ECS event of one Windows record, or a reject."""
    obj = load_json_object(record.text)
    if isinstance(obj, str):
        return Rejected(obj, record.line_no, record.text)
    event = extract(obj)
    if isinstance(event, str):
        return Rejected(event, record.line_no, record.text)
    return Event(timestamp=event.timestamp, original=record.text, fields=to_ecs(event))


_SPOOL_CHUNK = 1 << 20
_MAX_EVTX_ERRORS = 100
"""A damaged file can fail on every chunk; stop after this many errors instead of reporting each."""


def _evtx_records(stream: BinaryIO, path: str) -> Iterator[RawRecord]:
    """The records of an `.evtx` file as evtx_dump JSON; damaged chunks become error records."""
    import evtx  # deferred: only `.evtx` input needs the native module

    with _random_access(stream) as source:
        try:
            records = iter(evtx.PyEvtxParser(source, number_of_threads=1).records_json())
        except (OSError, RuntimeError, ValueError) as exc:
            yield RawRecord(1, -1, "", error=f"not a readable EVTX file: {exc}")
            return
        line_no = 0
        errors = 0
        while True:
            try:
                item = next(records)
            except StopIteration:
                return
            except (OSError, RuntimeError, ValueError) as exc:
                line_no += 1
                errors += 1
                yield RawRecord(line_no, -1, "", error=f"damaged EVTX data: {exc}")
                if errors >= _MAX_EVTX_ERRORS:
                    return
                continue
            line_no += 1
            yield RawRecord(line_no, -1, str(item["data"]) if isinstance(item, dict) else "")


@contextmanager
def _random_access(stream: BinaryIO) -> Iterator[BinaryIO]:
    """The stream itself when it is a seekable file or buffer, else a spooled copy on disk.

    `evtx` seeks between chunks; on a decompressing stream every backward seek would decompress
    from the start again, so such input is copied once to a temporary file (in bounded memory).
    """
    direct = isinstance(stream, io.BytesIO)
    if not direct:
        try:
            stream.fileno()
            direct = stream.seekable()
        except (AttributeError, OSError, ValueError):
            direct = False
    if direct:
        yield stream
        return
    with tempfile.TemporaryFile(prefix=naming.SPOOL_PREFIX) as spool:
        shutil.copyfileobj(stream, spool, _SPOOL_CHUNK)
        spool.seek(0)
        yield cast(BinaryIO, spool)


def make_parser(context: SourceContext) -> SourceParser:
    """Build the Windows parser."""
    return WindowsParser(context)
