"""Windows event logs: `.evtx` files, evtx_dump JSON, Winlogbeat (6.x and later) and flat NXLog-style JSON.

Each input format has a reader of its own (`evtx_file`, `evtx_dump`, `winlogbeat`, `flat`) that makes a
format-independent `WinEvent` (`event`); `ecs` turns it into ECS fields, classified by the event table
`events.yaml` (loaded by `kinds`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected
from dagster_project.sources.readers import iter_json_records
from dagster_project.sources.spec import SigmaLogsource, SourceSpec
from dagster_project.sources.values import load_json_object
from dagster_project.sources.windows.ecs import ASSUMED_UTC_TAG, CHANNEL_DATASETS, dataset, to_ecs
from dagster_project.sources.windows.event import SECURITY, SYSMON, WinEvent
from dagster_project.sources.windows.evtx_dump import from_evtx_dump
from dagster_project.sources.windows.evtx_file import evtx_records
from dagster_project.sources.windows.flat import from_flat
from dagster_project.sources.windows.winlogbeat import from_winlogbeat, from_winlogbeat6

NAME = "windows"

__all__ = [
    "ASSUMED_UTC_TAG",
    "NAME",
    "SECURITY",
    "SPEC",
    "SYSMON",
    "WindowsParser",
    "dataset",
    "extract",
]

_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def extract(obj: dict[str, Any]) -> WinEvent | str:
    """Recognise the export format of one JSON record and read it; a reason string when it is none."""
    if "Event" in obj:
        return from_evtx_dump(obj)
    if "winlog" in obj:
        return from_winlogbeat(obj)
    if "event_data" in obj or ("log_name" in obj and "event_id" in obj):
        return from_winlogbeat6(obj)
    if "EventID" in obj:
        return from_flat(obj)
    return "not a Windows event (no Event, winlog, event_id/log_name or EventID key)"


class WindowsParser(GuardedParser):
    """Parser for Windows events in any of the supported export formats."""

    name = NAME

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """`.evtx` files record by record through `evtx`; anything else as JSON (lines or documents)."""
        name = path.lower()
        for suffix in _COMPRESSED:
            name = name.removesuffix(suffix)
        if name.endswith(".evtx"):
            return evtx_records(stream, path)
        return iter_json_records(stream)

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Map one Windows event record to ECS, or reject it with a reason."""
        obj = load_json_object(record.text)
        if isinstance(obj, str):
            return Rejected(obj, record.line_no, record.text)
        event = extract(obj)
        if isinstance(event, str):
            return Rejected(event, record.line_no, record.text)
        return Event(timestamp=event.timestamp, original=record.text, fields=to_ecs(event))


SIGMA_FIELDS = {
    "EventID": "event.code",
    "Channel": "winlog.channel",
    "Provider_Name": "winlog.provider_name",
    "Computer": "host.name",
    "IpAddress": "source.ip",
    "IpPort": "source.port",
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "CurrentDirectory": "process.working_directory",
    **{
        name: f"winlog.event_data.{name}"
        for name in (
            "TargetUserName",
            "TargetDomainName",
            "TargetSid",
            "SubjectUserName",
            "SubjectUserSid",
            "SubjectDomainName",
            "MemberName",
            "MemberSid",
            "LogonType",
            "WorkstationName",
            "Status",
            "SubStatus",
            "User",
            "OriginalFileName",
            "IntegrityLevel",
        )
    },
}
"""Sigma's Windows rules use EventData names: the ECS field of each (EventData itself is kept under winlog)."""

SPEC = SourceSpec(
    name=NAME,
    description="Windows event logs (.evtx, evtx_dump JSON, Winlogbeat, NXLog)",
    parser=WindowsParser,
    datasets=tuple(CHANNEL_DATASETS.values()),
    logsources=(
        SigmaLogsource(
            "windows_security",
            product="windows",
            service="security",
            fields=SIGMA_FIELDS,
            dataset=CHANNEL_DATASETS[SECURITY],
        ),
        SigmaLogsource(
            "windows_sysmon", product="windows", service="sysmon", fields=SIGMA_FIELDS, dataset=CHANNEL_DATASETS[SYSMON]
        ),
    ),
    samples=("windows/evtx_attack_samples/*/*.evtx",),
)
