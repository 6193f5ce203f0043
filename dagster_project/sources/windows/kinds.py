"""The event table (`events.yaml`): how each known event code is classified, whose account it names, what fills it.

The table is data; this module loads and validates it once and holds the fillers it names: the code
that adds an event code's own ECS fields (logon details, process trees, group members, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from dagster_project.errors import ArtifactError
from dagster_project.sources.windows.entities import (
    account_of,
    basename,
    common_name,
    dirname,
    hashes_of,
    ip_of,
    process_of,
)
from dagster_project.sources.windows.event import SYSMON, WinEvent, as_int, present

Filler = Callable[[dict[str, str], dict[str, Any]], None]
"""Adds an event code's own ECS fields from its EventData."""

OUTCOMES = ("success", "failure", "keywords", "status")
"""A fixed `event.outcome`, or where it comes from: the audit keywords, or EventData `Status` (0x0 = success)."""
USERS = ("subject", "target", "sysmon", "userdata", "none")
"""Whose account `user.*` describes: the subject, the target, Sysmon's `User`, UserData's subject, nobody."""

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


@dataclass(frozen=True, slots=True)
class Kind:
    """How one event code is normalised: ECS classification, where its outcome comes from, whose user, filler."""

    action: str
    category: tuple[str, ...]
    type: tuple[str, ...]
    description: str
    outcome: str
    """One of OUTCOMES."""
    user: str
    """One of USERS."""
    fill: Filler | None = None


def _fill_logon(data: dict[str, str], ecs: dict[str, Any]) -> None:
    logon: dict[str, Any] = {}
    logon_type = data.get("LogonType")
    if logon_type:
        logon["type"] = _LOGON_TYPES.get(logon_type, logon_type)
    logon_id = present(data.get("TargetLogonId"))
    if logon_id:
        logon["id"] = logon_id
    failure = {
        key: data[name]
        for key, name in (("status", "Status"), ("sub_status", "SubStatus"), ("reason", "FailureReason"))
        if present(data.get(name))
    }
    if failure:
        logon["failure"] = failure
    if logon:
        ecs.setdefault("winlog", {})["logon"] = logon
    workstation = present(data.get("WorkstationName"))
    if workstation:
        ecs.setdefault("source", {})["domain"] = workstation


def _fill_process_created(data: dict[str, str], ecs: dict[str, Any]) -> None:
    process = process_of(data.get("NewProcessName"), data.get("NewProcessId"))
    command_line = present(data.get("CommandLine"))
    if command_line:
        process["command_line"] = command_line
    parent = process_of(data.get("ParentProcessName"), data.get("ProcessId"))
    if parent:
        process["parent"] = parent
    if process:
        ecs["process"] = process


def _fill_user_target(data: dict[str, str], ecs: dict[str, Any]) -> None:
    target = account_of(data, "TargetUserName", "TargetDomainName", "TargetSid")
    if target:
        ecs.setdefault("user", {})["target"] = target


def _fill_group_member(data: dict[str, str], ecs: dict[str, Any]) -> None:
    group = account_of(data, "TargetUserName", "TargetDomainName", "TargetSid")
    if group:
        ecs["group"] = group
    member: dict[str, Any] = {}
    member_name = present(data.get("MemberName"))
    if member_name:
        member["name"] = common_name(member_name)
    member_sid = present(data.get("MemberSid"))
    if member_sid:
        member["id"] = member_sid
    if group:
        member["group"] = {k: v for k, v in group.items() if k in ("name", "id")}
    if member:
        ecs.setdefault("user", {})["target"] = member


def _pe(data: dict[str, str]) -> dict[str, Any]:
    """ECS `pe.*` from the version resource Sysmon copies into EventData (absent values, `-`, left out)."""
    pe = {
        key: value
        for key, name in (
            ("original_file_name", "OriginalFileName"),
            ("description", "Description"),
            ("product", "Product"),
            ("company", "Company"),
            ("file_version", "FileVersion"),
        )
        if (value := present(data.get(name)))
    }
    return pe


def _fill_sysmon_process(data: dict[str, str], ecs: dict[str, Any]) -> None:
    process = ecs.setdefault("process", {})
    for key, name in (
        ("command_line", "CommandLine"),
        ("working_directory", "CurrentDirectory"),
    ):
        value = present(data.get(name))
        if value:
            process[key] = value
    parent = process_of(data.get("ParentImage"), data.get("ParentProcessId"))
    parent_command_line = present(data.get("ParentCommandLine"))
    if parent_command_line:
        parent["command_line"] = parent_command_line
    parent_guid = present(data.get("ParentProcessGuid"))
    if parent_guid:
        parent["entity_id"] = parent_guid
    if parent:
        process["parent"] = parent
    hashes = hashes_of(data.get("Hashes"))
    if hashes:
        process["hash"] = hashes
    pe = _pe(data)
    if "imphash" in hashes:
        pe["imphash"] = hashes["imphash"]
    if pe:
        process["pe"] = pe


def _fill_source_process(data: dict[str, str], ecs: dict[str, Any]) -> None:
    """Sysmon 8 and 10: the acting process is the `Source*` one (the target stays in EventData)."""
    process = process_of(data.get("SourceImage"), data.get("SourceProcessId"))
    guid = present(data.get("SourceProcessGuid") or data.get("SourceProcessGUID"))
    if guid:
        process["entity_id"] = guid
    thread = as_int(data.get("SourceThreadId"))
    if thread is not None:
        process["thread"] = {"id": thread}
    if process:
        ecs["process"] = process


def _fill_loaded_image(data: dict[str, str], ecs: dict[str, Any]) -> None:
    """Sysmon 6 and 7: the loaded driver or module is the `file`, with its hashes, version and signature."""
    path = present(data.get("ImageLoaded"))
    if not path:
        return
    file: dict[str, Any] = {"path": path, "name": basename(path), "directory": dirname(path)}
    hashes = hashes_of(data.get("Hashes"))
    if hashes:
        file["hash"] = hashes
    pe = _pe(data)
    if "imphash" in hashes:
        pe["imphash"] = hashes["imphash"]
    if pe:
        file["pe"] = pe
    signature: dict[str, Any] = {}
    signed = data.get("Signed")
    if signed in ("true", "false"):
        signature["signed"] = signed == "true"
    for key, name in (("status", "SignatureStatus"), ("subject_name", "Signature")):
        value = present(data.get(name))
        if value:
            signature[key] = value
    if signature:
        file["code_signature"] = signature
    ecs["file"] = file


def _fill_raw_access(data: dict[str, str], ecs: dict[str, Any]) -> None:
    device = present(data.get("Device"))
    if device:
        ecs["file"] = {"path": device}


def _fill_pipe(data: dict[str, str], ecs: dict[str, Any]) -> None:
    pipe = present(data.get("PipeName"))
    if pipe:
        ecs["file"] = {"name": pipe}


def _fill_script_block(data: dict[str, str], ecs: dict[str, Any]) -> None:
    """PowerShell 4104: the script block's text and id, where Winlogbeat's PowerShell module puts them."""
    block = {
        key: value
        for key, name in (("script_block_text", "ScriptBlockText"), ("script_block_id", "ScriptBlockId"))
        if (value := present(data.get(name)))
    }
    if block:
        ecs["powershell"] = {"file": block}


def _fill_sysmon_network(data: dict[str, str], ecs: dict[str, Any]) -> None:
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        endpoint: dict[str, Any] = {}
        ip = ip_of(data.get(f"{prefix}Ip"))
        if ip:
            endpoint["ip"] = ip
        port = as_int(data.get(f"{prefix}Port"))
        if port is not None:
            endpoint["port"] = port
        hostname = present(data.get(f"{prefix}Hostname"))
        if hostname:
            endpoint["domain"] = hostname
        if endpoint:
            ecs.setdefault(side, {}).update(endpoint)
    network: dict[str, Any] = {}
    transport = present(data.get("Protocol"))
    if transport:
        network["transport"] = transport.lower()
    initiated = data.get("Initiated")
    if initiated in ("true", "false"):
        network["direction"] = "egress" if initiated == "true" else "ingress"
    protocol = present(data.get("DestinationPortName"))
    if protocol:
        network["protocol"] = protocol
    if network:
        ecs["network"] = network


def _fill_file(data: dict[str, str], ecs: dict[str, Any]) -> None:
    """Sysmon's file events: the target file, with the hashes Sysmon 15 (`Hash`) and 23, 26-29 (`Hashes`) give."""
    path = present(data.get("TargetFilename"))
    if not path:
        return
    file: dict[str, Any] = {"path": path, "name": basename(path), "directory": dirname(path)}
    hashes = hashes_of(data.get("Hashes") or data.get("Hash"))
    if hashes:
        file["hash"] = hashes
    if "imphash" in hashes:
        file["pe"] = {"imphash": hashes["imphash"]}
    ecs["file"] = file


def _fill_registry(data: dict[str, str], ecs: dict[str, Any]) -> None:
    path = present(data.get("TargetObject"))
    if path:
        registry: dict[str, Any] = {"path": path}
        details = present(data.get("Details"))
        if details:
            registry["data"] = {"strings": [details]}
        ecs["registry"] = registry


def _fill_dns(data: dict[str, str], ecs: dict[str, Any]) -> None:
    name = present(data.get("QueryName"))
    if name:
        ecs["dns"] = {"question": {"name": name}}


def _fill_service(data: dict[str, str], ecs: dict[str, Any]) -> None:
    name = present(data.get("ServiceName"))
    if name:
        ecs["service"] = {"name": name}


def _fill_kerberos(data: dict[str, str], ecs: dict[str, Any]) -> None:
    status = present(data.get("Status"))
    if status and status != "0x0":
        ecs.setdefault("winlog", {})["logon"] = {"failure": {"status": status}}


FILLERS: Mapping[str, Filler] = MappingProxyType(
    {
        "logon": _fill_logon,
        "process_created": _fill_process_created,
        "user_target": _fill_user_target,
        "group_member": _fill_group_member,
        "sysmon_process": _fill_sysmon_process,
        "sysmon_network": _fill_sysmon_network,
        "source_process": _fill_source_process,
        "loaded_image": _fill_loaded_image,
        "raw_access": _fill_raw_access,
        "pipe": _fill_pipe,
        "script_block": _fill_script_block,
        "file": _fill_file,
        "registry": _fill_registry,
        "dns": _fill_dns,
        "service": _fill_service,
        "kerberos": _fill_kerberos,
    }
)
"""The fillers the table may name, by name."""

_KEYS = {"action", "description", "category", "type", "outcome", "user", "fill"}


def load_kinds(text: str, where: str) -> dict[str, dict[int, Kind]]:
    """Parse and validate an event table: channel -> event code -> Kind; ArtifactError naming the entry."""
    try:
        table = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ArtifactError(f"invalid YAML: {exc}", where=where) from exc
    if not isinstance(table, dict):
        raise ArtifactError("expected a mapping of channel names", where=where)
    kinds: dict[str, dict[int, Kind]] = {}
    for channel, section in table.items():
        if not isinstance(section, dict) or not isinstance(section.get("events"), dict):
            raise ArtifactError(f"{channel}: expected `defaults` and `events`", where=where)
        defaults = section.get("defaults") or {}
        kinds[str(channel)] = {
            _code(code, channel, where): _kind_entry({**defaults, **(entry or {})}, f"{where}: {channel} {code}")
            for code, entry in section["events"].items()
        }
    return kinds


def _code(code: Any, channel: str, where: str) -> int:
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 0xFFFF:
        raise ArtifactError(f"{channel}: event code {code!r} is not a number from 0 to 65535", where=where)
    return code


def _kind_entry(entry: dict[str, Any], where: str) -> Kind:
    unknown = set(entry) - _KEYS
    if unknown:
        raise ArtifactError(f"unknown keys {sorted(unknown)}", where=where)
    for key in ("action", "description"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ArtifactError(f"{key}: expected text", where=where)
    for key in ("category", "type"):
        value = entry.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ArtifactError(f"{key}: expected a list of ECS values", where=where)
    if entry.get("outcome") not in OUTCOMES:
        raise ArtifactError(f"outcome: {entry.get('outcome')!r} is not one of {', '.join(OUTCOMES)}", where=where)
    if entry.get("user") not in USERS:
        raise ArtifactError(f"user: {entry.get('user')!r} is not one of {', '.join(USERS)}", where=where)
    fill = entry.get("fill")
    if fill is not None and fill not in FILLERS:
        raise ArtifactError(f"fill: no filler {fill!r} (known: {', '.join(FILLERS)})", where=where)
    return Kind(
        action=entry["action"],
        category=tuple(entry["category"]),
        type=tuple(entry["type"]),
        description=entry["description"],
        outcome=entry["outcome"],
        user=entry["user"],
        fill=FILLERS[fill] if fill is not None else None,
    )


def _packaged_table() -> dict[str, dict[int, Kind]]:
    source = resources.files(__package__).joinpath("events.yaml")
    return load_kinds(source.read_text(encoding="utf-8"), str(source))


KINDS: Mapping[str, Mapping[int, Kind]] = MappingProxyType(_packaged_table())
"""The packaged event table: channel -> event code -> Kind."""


def kind_of(event: WinEvent, sysmon: bool) -> Kind | None:
    """The table entry of an event (`sysmon`: Sysmon's by provider too), or None for a code the table lacks."""
    table = KINDS.get(SYSMON if sysmon else event.channel or "")
    return table.get(event.event_id) if table is not None else None
