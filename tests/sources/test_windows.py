"""Golden and whole-file tests of the Windows parser (`dagster_project.sources.windows`)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import windows
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, is_internal_error

DATA = Path(__file__).parents[1] / "data" / "windows"
SHARED = Path(__file__).parents[2].parent / "shared" / "data" / "windows"
CONTEXT = SourceContext(path="test", reference_time=datetime(2024, 1, 1, tzinfo=UTC))
PARSER = windows.WindowsParser(CONTEXT)


def parse_stream(stream: IO[bytes] | io.BufferedIOBase, path: str) -> tuple[list[Event], list[Rejected]]:
    """Run records() and parse() over a whole input, as ingestion does."""
    events: list[Event] = []
    rejects: list[Rejected] = []
    for record in PARSER.records(stream, path):  # type: ignore[arg-type]
        result = PARSER.parse(record)
        if isinstance(result, Event):
            events.append(result)
        else:
            rejects.append(result)
    return events, rejects


def parse_file(path: Path) -> tuple[list[Event], list[Rejected]]:
    """Parse a file from disk, choosing the reader by its name as ingestion does."""
    with path.open("rb") as stream:
        return parse_stream(stream, str(path))


def by_channel_event_id(events: list[Event]) -> Counter[tuple[str, int]]:
    """Count events per (channel, event id), the shape of the derived `_index.json` files."""
    return Counter((e.fields["winlog"]["channel"], e.fields["winlog"]["event_id"]) for e in events)


def comparable(event: Event) -> tuple[datetime, dict[str, Any]]:
    """Everything of an event except the original text (which differs between evtx and its JSON dump)."""
    return event.timestamp, event.fields


def stripped(value: Any) -> Any:
    """The value with trailing whitespace removed from every string (SigmaHQ's JSON dumps trim it)."""
    if isinstance(value, str):
        return value.rstrip()
    if isinstance(value, dict):
        return {k: stripped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stripped(v) for v in value]
    return value


def shared(*parts: str) -> Path:
    """A path in the shared sample data; missing data fails the test (never skipped)."""
    path = SHARED.joinpath(*parts)
    assert path.exists(), f"shared sample data missing: {path}"
    return path


@pytest.mark.parametrize(
    "name",
    [
        "synthetic_evtx_dump.jsonl",
        "synthetic_winlogbeat.jsonl",
        "otrf_nxlog.jsonl",
        "otrf_flat.jsonl",
        "otrf_winlogbeat6.jsonl",
    ],
)
def test_golden_documents(name: str) -> None:
    """Each fixture record (evtx_dump, Winlogbeat 8/6, NXLog, flat OTRF) becomes the reviewed document."""
    events, rejects = parse_file(DATA / name)
    expected = json.loads((DATA / name).with_suffix(".expected.json").read_text())
    assert rejects == []
    assert [event.document() for event in events] == expected


def test_golden_logon_spelled_out() -> None:
    """A remote-desktop logon (4624, LogonType 10) in evtx_dump form, field by field."""
    events, _ = parse_file(DATA / "synthetic_evtx_dump.jsonl")
    doc = events[0].document()
    assert doc["@timestamp"] == "2024-03-01T08:15:30.123456Z"
    assert doc["event"] | {"original": None} == {
        "kind": "event",
        "category": ["authentication"],
        "type": ["start"],
        "action": "logged-in",
        "outcome": "success",
        "code": "4624",
        "dataset": "windows.security",
        "module": "windows",
        "provider": "Microsoft-Windows-Security-Auditing",
        "original": None,
    }
    assert doc["user"] == {
        "name": "alice",
        "domain": "EXAMPLE",
        "id": "S-1-5-21-1111111111-2222222222-3333333333-1104",
    }
    assert doc["source"] == {"ip": "192.0.2.44", "port": 51234, "domain": "WS01"}
    assert doc["host"] == {"name": "ws01.example.org"}
    assert doc["winlog"]["logon"] == {"type": "RemoteInteractive", "id": "0x1a2b3c"}
    assert doc["winlog"]["event_data"]["LogonType"] == "10"
    assert doc["winlog"]["event_data"]["TargetUserName"] == "alice"


def test_group_membership_names_group_and_member() -> None:
    """4732: group.name is the group, user.target the member (CN of its DN), user the admin."""
    events, _ = parse_file(DATA / "synthetic_evtx_dump.jsonl")
    fields = events[2].fields
    assert fields["group"] == {"name": "Administrators", "domain": "Builtin", "id": "S-1-5-32-544"}
    assert fields["user"]["name"] == "admin"
    assert fields["user"]["target"]["name"] == "Mallory Example"


def test_pretty_printed_documents_equal_their_json_lines() -> None:
    """A file of pretty-printed evtx_dump documents (as SigmaHQ ships) reads like the JSON lines."""
    events, rejects = parse_file(DATA / "synthetic_evtx_dump_pretty.json")
    lines, _ = parse_file(DATA / "synthetic_evtx_dump.jsonl")
    assert rejects == []
    assert [comparable(e) for e in events] == [comparable(lines[0]), comparable(lines[4])]


def test_nxlog_event_time_is_corrected_by_the_collector_offset() -> None:
    """NXLog EventTime is local time; @timestamp - EventReceivedTime gives the offset (here UTC-4)."""
    record = {
        "EventID": 4634,
        "Channel": "Security",
        "Hostname": "ws.example.org",
        "EventTime": "2020-09-14 08:05:43",
        "EventReceivedTime": "2020-09-14 08:05:46",
        "@timestamp": "2020-09-14T12:05:46.455Z",
        "TargetUserName": "bob",
        "EventType": "AUDIT_SUCCESS",
    }
    event = PARSER.parse(RawRecord(1, 0, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.timestamp == datetime(2020, 9, 14, 12, 5, 43, tzinfo=UTC)
    assert "tags" not in event.fields


def test_a_collector_offset_past_the_end_of_the_calendar_falls_back_to_the_shippers_time() -> None:
    """NXLog local time on 9999-12-31 plus a collector offset of 4 hours is past year 9999: the shipper's
    @timestamp is the event time instead (this once crashed the parser)."""
    record = {
        "EventID": 4634,
        "Channel": "Security",
        "EventTime": "9999-12-31 23:00:00",
        "EventReceivedTime": "9999-12-31 19:59:59",
        "@timestamp": "9999-12-31T23:59:59Z",
    }
    event = PARSER.parse(RawRecord(1, 0, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.timestamp == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_zoneless_time_is_read_as_utc_and_tagged() -> None:
    """A record with only a zoneless TimeCreated is kept, read as UTC and tagged as such."""
    record = {"EventID": 4689, "Channel": "Security", "TimeCreated": "2020-10-18 07:50:06.220"}
    event = PARSER.parse(RawRecord(1, 0, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.timestamp == datetime(2020, 10, 18, 7, 50, 6, 220000, tzinfo=UTC)
    assert event.fields["tags"] == [windows.ASSUMED_UTC_TAG]


@pytest.mark.parametrize(
    ("keywords", "event_type", "outcome"),
    [
        (-9214364837600034816, None, "success"),  # NXLog: 0x8020000000000000 as a signed integer
        ("0x8010000000000000", None, "failure"),
        (None, "AUDIT_FAILURE", "failure"),
        ("0x8000000000000000", None, "unknown"),
    ],
)
def test_generic_outcome_comes_from_audit_keywords(keywords: Any, event_type: Any, outcome: str) -> None:
    """Events without a fixed outcome take it from the audit keywords, in any export shape."""
    record = {"EventID": 5156, "Channel": "Security", "@timestamp": "2020-09-14T12:05:46Z"}
    if keywords is not None:
        record["Keywords"] = keywords
    if event_type is not None:
        record["EventType"] = event_type
    event = PARSER.parse(RawRecord(1, 0, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.fields["event"]["outcome"] == outcome
    assert event.fields["event"]["action"] == "windows-event-5156"


@pytest.mark.parametrize(
    ("channel", "dataset"),
    [
        ("Security", "windows.security"),
        ("Microsoft-Windows-Sysmon/Operational", "windows.sysmon_operational"),
        ("Windows PowerShell", "windows.powershell"),
        ("System", "windows.system"),
        ("Microsoft-Windows-PowerShell/Operational", "windows.microsoft_windows_powershell_operational"),
        (
            "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
            "windows.microsoft_windows_windows_firewall_with_advanced_security_firewall",
        ),
        (None, "windows.unknown"),
    ],
)
def test_dataset_from_channel(channel: str | None, dataset: str) -> None:
    """event.dataset: the four named channels, else the lowercased channel with non-alnum runs as `_`."""
    assert windows.dataset(channel) == dataset


MISSING = "shared-data-missing"
"""The one case a parametrized test gets when its shared folder is missing: it fails (an empty set would skip)."""


def _index(folder: str) -> list[dict[str, Any]]:
    """A shared folder's derived `_index.json`; missing data fails the test (never skipped)."""
    entries: list[dict[str, Any]] = json.loads(shared(folder, "_index.json").read_text())
    return entries


def _index_names(folder: str, key: str) -> list[str]:
    """The entries of a shared `_index.json` to parametrize over, or [MISSING] when there is none."""
    index = SHARED / folder / "_index.json"
    return [entry[key] for entry in json.loads(index.read_text())] if index.is_file() else [MISSING]


def _entry(folder: str, key: str, name: str) -> dict[str, Any]:
    """One entry of a shared `_index.json` by name."""
    (entry,) = [e for e in _index(folder) if e[key] == name]
    return entry


def _read_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            return zipped.read(member)
    with tarfile.open(archive) as tar:
        (info,) = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(member)]
        handle = tar.extractfile(info)
        assert handle is not None
        return handle.read()


def test_otrf_index_lists_the_nine_archives() -> None:
    """The derived index the golden counts come from is present and complete."""
    assert len(_index("otrf")) == 9


@pytest.mark.parametrize("name", _index_names("otrf", "archive"))
def test_otrf_archives_parse_completely_with_golden_counts(name: str) -> None:
    """Every OTRF record parses (NXLog flat, plain flat, Winlogbeat 6), counted as in `_index.json`."""
    archive = _entry("otrf", "archive", name)
    (member,) = archive["members"]
    events, rejects = parse_stream(io.BytesIO(_read_member(shared("otrf", archive["archive"]), member)), member)
    assert rejects == []
    assert len(events) == archive["records"]
    expected = Counter({(channel, event_id): n for channel, event_id, n in archive["by_channel_eventid"]})
    assert by_channel_event_id(events) == expected
    datasets = Counter(e.fields["event"]["dataset"] for e in events)
    assert datasets["windows.security"] == archive["by_channel"].get("Security", 0)
    assert datasets["windows.sysmon_operational"] == archive["by_channel"].get(windows.SYSMON, 0)


def test_attack_samples_index_lists_ten_files() -> None:
    """The derived index of the EVTX-ATTACK-SAMPLES files is present and complete."""
    assert len(_index("evtx_attack_samples")) == 10


@pytest.mark.parametrize("name", _index_names("evtx_attack_samples", "file"), ids=lambda name: Path(name).stem)
def test_evtx_attack_samples_parse_completely_in_both_forms(name: str) -> None:
    """Each .evtx (read by `evtx`) and its JSON-lines dump: no reject, counts as derived, equal events."""
    sample = _entry("evtx_attack_samples", "file", name)
    evtx_path = shared("evtx_attack_samples", sample["file"])
    from_evtx, evtx_rejects = parse_file(evtx_path)
    from_json, json_rejects = parse_file(evtx_path.with_suffix(".jsonl"))
    assert evtx_rejects == [] and json_rejects == []
    assert len(from_evtx) == sample["records"]
    expected = Counter({(channel, event_id): n for channel, event_id, n in sample["by_channel_eventid"]})
    assert by_channel_event_id(from_evtx) == expected
    assert [comparable(e) for e in from_evtx] == [comparable(e) for e in from_json]


def _regression_cases() -> list[str]:
    """The SigmaHQ regression case folders, whatever their number, or [MISSING] without the folder."""
    folder = SHARED / "sigma_regression"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else [MISSING]


def test_sigma_regression_cases_are_complete() -> None:
    """Every SigmaHQ regression case folder holds its rule, one .evtx and that .evtx's evtx_dump .json."""
    cases = sorted(p for p in shared("sigma_regression").iterdir() if p.is_dir())
    assert cases, "no case folder in the shared SigmaHQ regression data"
    incomplete = [
        case.name
        for case in cases
        if not (case / "rule.yml").is_file()
        or len(list(case.glob("*.evtx"))) != 1
        or not next(case.glob("*.evtx")).with_suffix(".json").is_file()
    ]
    assert incomplete == []


@pytest.mark.parametrize("case", _regression_cases())
def test_sigma_regression_events_parse_in_both_forms(case: str) -> None:
    """SigmaHQ regression events: the .evtx and the pretty-printed evtx_dump .json agree, event by event.

    A case holds one event or several; their JSON was made by another tool that trims trailing spaces
    (e.g. of ParentCommandLine), so the comparison ignores trailing whitespace; the evtx side keeps it
    as Windows logged it.
    """
    (evtx_path,) = shared("sigma_regression", case).glob("*.evtx")
    from_evtx, evtx_rejects = parse_file(evtx_path)
    from_json, json_rejects = parse_file(evtx_path.with_suffix(".json"))
    assert evtx_rejects == [] and json_rejects == []
    assert len(from_evtx) >= 1
    assert [stripped(comparable(e)) for e in from_evtx] == [stripped(comparable(e)) for e in from_json]


def test_sysmon_process_creation_fills_process_fields() -> None:
    """Sysmon 1 from a SigmaHQ regression case: process.*, parent and hashes."""
    case = shared("sigma_regression", "proc_creation_win_sc_stop_service")
    (event,), _ = parse_file(next(case.glob("*.json")))
    process = event.fields["process"]
    assert process["executable"] == "C:\\Windows\\System32\\sc.exe"
    assert process["name"] == "sc.exe"
    assert process["command_line"] == "sc  stop mpssvc"
    assert process["pid"] == 3424
    assert event.fields["event"]["action"] == "process-created"


def test_damaged_evtx_yields_error_records_and_never_raises(tmp_path: Path) -> None:
    """Garbage over one chunk: the other records come through, the damage is an error record."""
    data = bytearray(shared("evtx_attack_samples", "Defense_Evasion", "DE_1102_security_log_cleared.evtx").read_bytes())
    data[300_000:310_000] = b"A" * 10_000
    damaged = tmp_path / "damaged.evtx"
    damaged.write_bytes(bytes(data))
    with damaged.open("rb") as stream:
        records = list(PARSER.records(stream, str(damaged)))
    errors = [r for r in records if r.error]
    assert errors and all(r.error and r.error.startswith("damaged EVTX data: ") for r in errors)
    results = [PARSER.parse(r) for r in records]
    assert sum(isinstance(r, Event) for r in results) >= 100


def test_compressed_evtx_is_read_through_a_spool(tmp_path: Path) -> None:
    """A decompressing stream of an .evtx.gz gives the same events as the file itself."""
    original = shared("evtx_attack_samples", "Lateral_Movement", "LM_wmiexec_impacket_sysmon_whoami.evtx")
    packed = tmp_path / "sample.evtx.gz"
    packed.write_bytes(gzip.compress(original.read_bytes()))
    with gzip.open(packed, "rb") as stream:
        events, rejects = parse_stream(stream, str(packed))
    direct, _ = parse_file(original)
    assert rejects == [] and len(events) == 7
    assert [comparable(e) for e in events] == [comparable(e) for e in direct]


def test_a_file_named_evtx_that_is_not_one_is_an_error_record() -> None:
    """JSON (or anything) under an .evtx name: one error record, no exception."""
    records = list(PARSER.records(io.BytesIO(b'{"EventID": 1}\n'), "fake.evtx"))
    assert len(records) == 1
    assert records[0].error is not None and records[0].error.startswith("not a readable EVTX file: ")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("not json", "invalid JSON: Expecting value at line 1 column 1"),
        ('["Event"]', "JSON value is an array, expected an object"),
        ('{"foo": 1}', "not a Windows event (no Event, winlog, event_id/log_name or EventID key)"),
        ('{"Event": "x"}', "`Event` is not an object"),
        ('{"Event": {"EventData": {}}}', "missing Event.System"),
        ('{"Event": {"System": {"EventID": "abc"}}}', "missing or invalid Event.System.EventID 'abc'"),
        ('{"Event": {"System": {"EventID": 70000}}}', "missing or invalid Event.System.EventID 70000"),
        ('{"Event": {"System": {"EventID": 4624}}}', "missing or unparseable Event.System.TimeCreated None"),
        ('{"EventID": "x", "Channel": "Security"}', "invalid EventID 'x'"),
        (
            '{"EventID": 4624, "Channel": "Security"}',
            "no timestamp (TimeCreated, EventTime, @timestamp or UtcTime)",
        ),
        ('{"EventID": 4624, "EventTime": "noon"}', "unparseable EventTime 'noon'"),
        ('{"winlog": {"event_id": 4624}}', "missing or unparseable @timestamp None"),
        (
            '{"winlog": {"channel": "Security"}, "@timestamp": "2024-01-01T00:00:00Z"}',
            "missing or invalid event id None",
        ),
        (
            '{"log_name": "Security", "event_id": 4624, "@timestamp": "x"}',
            "missing or unparseable @timestamp 'x'",
        ),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(record: str, reason: str) -> None:
    """Each malformed record is rejected with a precise reason, keeping line number and text."""
    assert PARSER.parse(RawRecord(3, 0, record)) == Rejected(reason, 3, record)


def test_record_with_reader_error_is_rejected_with_that_error() -> None:
    """An error set by the reader becomes the reject reason."""
    assert PARSER.parse(RawRecord(4, -1, "", error="damaged EVTX data: x")) == Rejected("damaged EVTX data: x", 4, "")


def test_unknown_event_ids_are_generic_events_not_rejects() -> None:
    """An event id without a mapping is kept as a generic host/info event with all its data."""
    events, _ = parse_file(DATA / "synthetic_evtx_dump.jsonl")
    generic = events[-1].fields
    assert generic["event"]["category"] == ["host"] and generic["event"]["outcome"] == "unknown"
    assert generic["winlog"]["event_data"] == {"param1": "first value", "param2": "second value"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text: str) -> None:
    """Whatever the text, parse returns an Event or a Rejected for the input, never for a parser crash."""
    result = PARSER.parse(RawRecord(1, 0, text))
    assert isinstance(result, Event | Rejected)
    assert not is_internal_error(result), result


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=15,
)
_DATA_KEYS = st.sampled_from(
    ["TargetUserName", "SubjectUserName", "IpAddress", "IpPort", "Image", "ProcessId", "User", "Hashes",
     "MemberName", "Data", "#text", "LogonType", "NewProcessId", "SourceIp", "Initiated", "TargetFilename",
     "a.b", ""]
)  # fmt: skip
_ZONES = st.sampled_from(["", "Z", "+01:00", "-01:00", "+14:00"])


@st.composite
def _times(draw: st.DrawFn) -> tuple[str, str, str]:
    """Three times within hours of each other anywhere in the calendar (its ends included), as text with or
    without a zone, or junk: an event's creation, its receipt by a collector and the shipper's time."""
    if draw(st.booleans()):
        junk = st.sampled_from(["noon", "", "2024-02-30 00:00:00"])
        return draw(junk), draw(junk), draw(junk)
    base = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    texts = []
    for _ in range(3):
        delta = draw(st.timedeltas(min_value=timedelta(hours=-15), max_value=timedelta(hours=15)))
        try:
            moment = base + delta
        except OverflowError:
            moment = base
        texts.append(moment.isoformat(sep=draw(st.sampled_from([" ", "T"]))) + draw(_ZONES))
    return texts[0], texts[1], texts[2]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([4624, 4625, 4688, 4720, 4732, 1102, 1, 3, 11, 13, 7045, 5156, "4624", {"#text": 4688}]),
    st.sampled_from(["Security", windows.SYSMON, "System", "Application", None, 5]),
    st.dictionaries(_DATA_KEYS, _JSON, max_size=8),
    _JSON,
    _times(),
)
def test_parse_never_raises_on_odd_events(
    event_id: Any, channel: Any, data: dict[str, Any], extra: Any, times: tuple[str, str, str]
) -> None:
    """Records of every format with any JSON in their data and odd times: an Event that serialises, or a
    Rejected for the input (never for a parser crash)."""
    created, received, shipped = times
    system = {
        "EventID": event_id,
        "Channel": channel,
        "TimeCreated": {"#attributes": {"SystemTime": created}},
        "Keywords": extra,
        "Execution": extra,
    }
    shapes = [
        {"Event": {"System": system, "EventData": data, "UserData": extra}},
        dict(data, EventID=event_id, Channel=channel, TimeCreated=created, Keywords=extra),
        dict(data, EventID=event_id, EventTime=created, EventReceivedTime=received, **{"@timestamp": shipped}),
        {"@timestamp": shipped, "winlog": {"event_id": event_id, "channel": channel, "event_data": data}},
        {"@timestamp": shipped, "event_id": event_id, "log_name": channel, "event_data": data, "level": extra},
    ]
    for shape in shapes:
        result = PARSER.parse(RawRecord(1, 0, json.dumps(shape)))
        assert isinstance(result, Event | Rejected)
        assert not is_internal_error(result), result
        if isinstance(result, Event):
            json.dumps(result.document())
            values = result.fields["winlog"].get("event_data", {}).values()
            assert all(isinstance(v, str | list) for v in values)
