"""The Sigma log sources the windows source feeds: every channel service pySigma names, and the event categories.

Field names are mapped by pySigma's maintained Winlogbeat ECS pipeline (`ecs_windows`, from
`pysigma-backend-elasticsearch`), which also narrows a service's rules to its channel; `OWN_FIELDS` are
the names where the ECS field this parser fills holds something else than the rule's EventData value
(`ecs_windows` follows Winlogbeat there), so those rules read the EventData value itself. The categories
are Sysmon's (and Security's process creation, PowerShell's script and module logging, ...): each is
narrowed to its channel and event codes, as SigmaHQ's own Sysmon mapping defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping

from dagster_project.sources.spec import SigmaLogsource
from dagster_project.sources.windows.ecs import CHANNEL_DATASETS
from dagster_project.sources.windows.event import SECURITY, SYSMON

PIPELINE = "ecs_windows"
KEYWORD_FIELD = "siem.keyword_text"
"""Where a rule's keyword searches look: every EventData and UserData value, lowercased (the windows
template copies them there), as Sigma's keywords search the whole event."""
"""pySigma's ECS Windows pipeline, by its plugin name."""

EVENT_DATA = "winlog.event_data"

OWN_FIELDS = MappingProxyType(
    {
        "Computer": "host.name",
        # A full path in 4688; `ecs_windows` maps it to process.parent.name, which holds the file name.
        "ParentProcessName": "process.parent.executable",
        # Whose account `user.*` names depends on the event (subject, target, Sysmon's `User`).
        **{
            name: f"{EVENT_DATA}.{name}"
            for name in (
                "SubjectUserName",
                "SubjectDomainName",
                "SubjectUserSid",
                "SubjectLogonId",
                "TargetDomainName",
                "TargetLogonId",
                "User",
                "AccountName",
                "AccountDomain",
                "WorkstationName",
                # Kept as written: the ECS fields are `ip` fields, these may hold ports or `-`.
                "SourceAddress",
                "DestAddress",
                "ClientAddress",
                "ClientName",
                # Sysmon writes these as `true`/`false` text; the ECS fields are booleans or `egress`.
                "Initiated",
                "Signed",
                # Fields `ecs_windows` maps by service or category where this parser does not fill them.
                "Application",
                "Destination",
                "HostApplication",
                "HostName",
                "HostId",
                "ScriptName",
                "FileName",
                "ServiceName",
                "ProcessName",
                "Payload",
                "QueryStatus",
                "IsExecutable",
                "Archived",
            )
        },
    }
)
"""Sigma field -> ECS field where this suite's own mapping is kept (applied before `ecs_windows`)."""

CATEGORIES: MappingProxyType[str, tuple[tuple[str, tuple[int, ...]], ...]] = MappingProxyType(
    {
        "process_creation": ((SYSMON, (1,)), (SECURITY, (4688,))),
        "file_change": ((SYSMON, (2,)),),
        "network_connection": ((SYSMON, (3,)),),
        "sysmon_status": ((SYSMON, (4, 16)),),
        "process_termination": ((SYSMON, (5,)),),
        "driver_load": ((SYSMON, (6,)),),
        "image_load": ((SYSMON, (7,)),),
        "create_remote_thread": ((SYSMON, (8,)),),
        "raw_access_thread": ((SYSMON, (9,)),),
        "process_access": ((SYSMON, (10,)),),
        "file_event": ((SYSMON, (11,)),),
        "registry_add": ((SYSMON, (12,)),),
        "registry_delete": ((SYSMON, (12,)),),
        "registry_set": ((SYSMON, (13,)),),
        "registry_rename": ((SYSMON, (14,)),),
        "registry_event": ((SYSMON, (12, 13, 14)),),
        "create_stream_hash": ((SYSMON, (15,)),),
        "pipe_created": ((SYSMON, (17, 18)),),
        "wmi_event": ((SYSMON, (19, 20, 21)),),
        "dns_query": ((SYSMON, (22,)),),
        "file_delete": ((SYSMON, (23, 26)),),
        "clipboard_change": ((SYSMON, (24,)),),
        "process_tampering": ((SYSMON, (25,)),),
        "file_block_executable": ((SYSMON, (27,)),),
        "file_block_shredding": ((SYSMON, (28,)),),
        "file_executable_detected": ((SYSMON, (29,)),),
        "sysmon_error": ((SYSMON, (255,)),),
        "ps_module": (
            ("Microsoft-Windows-PowerShell/Operational", (4103,)),
            ("PowerShellCore/Operational", (4103,)),
        ),
        "ps_script": (
            ("Microsoft-Windows-PowerShell/Operational", (4104,)),
            ("PowerShellCore/Operational", (4104,)),
        ),
        "ps_classic_start": (("Windows PowerShell", (400,)),),
        "ps_classic_provider_start": (("Windows PowerShell", (600,)),),
        "ps_classic_script": (("Windows PowerShell", (800,)),),
    }
)
"""Sigma category -> the channels and event codes whose events it holds."""

HASHED: MappingProxyType[str, str] = MappingProxyType(
    {
        "process_creation": "process",
        "driver_load": "file",
        "image_load": "file",
        "create_stream_hash": "file",
        "file_delete": "file",
        "file_block_executable": "file",
        "file_block_shredding": "file",
        "file_executable_detected": "file",
    }
)
"""Sigma category -> the ECS object whose `hash.*` the parser fills from Sysmon's `Hashes`/`Hash` (`kinds.py`)."""


def _name(word: str) -> str:
    return "windows_" + word.replace("-", "_")


def _windows(word: str, **narrowing: Any) -> SigmaLogsource:
    """A Windows log source: what every one shares (fields, pipeline, keyword field) plus its own narrowing."""
    return SigmaLogsource(
        _name(word), product="windows", fields=OWN_FIELDS, pipeline=PIPELINE, keywords=KEYWORD_FIELD, **narrowing
    )


def _service(service: str, channels: str | Sequence[str]) -> SigmaLogsource:
    # `ecs_windows` adds the channel condition of a service itself; Security and Sysmon keep their dataset.
    named = CHANNEL_DATASETS.get(channels) if isinstance(channels, str) else None
    return _windows(service, service=service, dataset=named)


def _category(category: str, codes: tuple[tuple[str, tuple[int, ...]], ...]) -> SigmaLogsource:
    selects = tuple(
        {"winlog.channel": (channel,), "event.code": tuple(str(code) for code in numbers)} for channel, numbers in codes
    )
    return _windows(category, category=category, selects=selects, hashes=HASHED.get(category))


LOGSOURCES: tuple[SigmaLogsource, ...] = (
    # Rules naming only the product search every Windows event (SigmaHQ's keyword rules do).
    _windows("all"),
    *(_service(service, channels) for service, channels in sorted(windows_logsource_mapping.items())),
    *(_category(category, codes) for category, codes in CATEGORIES.items()),
)
"""Every Windows Sigma log source: the product alone, its services, its categories."""
