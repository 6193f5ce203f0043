"""Golden and whole-file tests of the CloudTrail parser (`dagster_project.sources.cloudtrail`)."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import cloudtrail
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, is_internal_error
from dagster_project.sources.values import compact_json

DATA = Path(__file__).parents[1] / "data" / "cloudtrail"
CONTEXT = SourceContext(path="test", reference_time=datetime(2024, 1, 1, tzinfo=UTC))
PARSER = cloudtrail.CloudTrailParser(CONTEXT)


def parse_stream(data: bytes | io.IOBase, path: str = "input.json") -> tuple[list[Event], list[Rejected]]:
    """Run records() and parse() over a whole input, as ingestion does."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    events: list[Event] = []
    rejects: list[Rejected] = []
    for record in PARSER.records(stream, path):  # type: ignore[arg-type]
        result = PARSER.parse(record)
        (events if isinstance(result, Event) else rejects).append(result)  # type: ignore[arg-type]
    return events, rejects


def fixture_records() -> list[dict[str, Any]]:
    """The five MIT-licensed records of `delivery.json`, as Python objects."""
    return json.loads((DATA / "delivery.json").read_text())["Records"]


@pytest.mark.parametrize("name", ["delivery.json", "otrf_records.jsonl"])
def test_golden_documents(name: str) -> None:
    """Each fixture record becomes exactly the reviewed ECS document next to it."""
    events, rejects = parse_stream((DATA / name).read_bytes(), name)
    expected = json.loads((DATA / name).with_suffix(".expected.json").read_text())
    assert rejects == []
    assert [event.document() for event in events] == expected


def test_golden_console_login_fields() -> None:
    """The contract fields of a console login, spelled out (the PCI DSS 10.2.2 elements among them)."""
    events, _ = parse_stream((DATA / "delivery.json").read_bytes())
    doc = events[0].document()
    assert doc["@timestamp"] == "2023-07-10T12:27:45Z"
    assert doc["event"]["action"] == "ConsoleLogin"
    assert doc["event"]["category"] == ["authentication"]
    assert doc["event"]["outcome"] == "success"
    assert doc["event"]["provider"] == "signin.amazonaws.com"
    assert doc["user"] == {"name": "bert-jan", "id": "AIDATFQR7NSC5AU2ZV3IE"}
    assert doc["source"] == {"address": "10.8.8.10", "ip": "10.8.8.10"}
    assert doc["cloud"] == {"provider": "aws", "region": "us-east-1", "account": {"id": "123837392027"}}
    trail = doc["aws"]["cloudtrail"]
    assert trail["additionalEventData"]["MFAUsed"] == "Yes"
    assert trail["responseElements"]["ConsoleLogin"] == "Success"
    assert trail["userIdentity"]["type"] == "IAMUser"
    assert trail["requestParameters"] is None
    assert doc["event"]["original"] == compact_json(fixture_records()[0])


def test_failed_call_maps_error_and_outcome() -> None:
    """StopLogging that failed with TrailNotFoundException: outcome failure, error.* filled."""
    events, _ = parse_stream((DATA / "delivery.json").read_bytes())
    doc = events[1].document()
    assert doc["event"]["outcome"] == "failure"
    assert doc["error"]["code"] == "TrailNotFoundException"
    assert doc["aws"]["cloudtrail"]["errorCode"] == "TrailNotFoundException"
    assert json.loads(doc["aws"]["cloudtrail"]["requestParameters"]) == {
        "name": "stratus-red-team-ct-stop-trail-qzbgnfqisx"
    }


def _layouts(records: list[dict[str, Any]]) -> dict[str, bytes]:
    return {
        "envelope": json.dumps({"Records": records}, separators=(",", ":")).encode(),
        "pretty envelope": json.dumps({"Records": records}, indent=2).encode(),
        "envelope with BOM": b"\xef\xbb\xbf" + json.dumps({"Records": records}).encode(),
        "array": json.dumps(records).encode(),
        "json lines": "".join(compact_json(r) + "\n" for r in records).encode(),
        "pretty documents": "".join(json.dumps(r, indent=2) + "\n" for r in records).encode(),
    }


@pytest.mark.parametrize("layout", list(_layouts([])))
def test_every_layout_gives_the_same_events(layout: str) -> None:
    """Delivery envelope, array, JSON lines or pretty documents: the same records, the same events."""
    records = fixture_records()
    reference, _ = parse_stream(_layouts(records)["envelope"])
    events, rejects = parse_stream(_layouts(records)[layout])
    assert rejects == []
    assert [(e.timestamp, e.fields, e.original) for e in events] == [
        (e.timestamp, e.fields, e.original) for e in reference
    ]
    assert len(events) == len(records)


def test_records_are_numbered_from_one() -> None:
    """Records of a delivery file carry their 1-based index and offset -1."""
    records = list(PARSER.records(io.BytesIO((DATA / "delivery.json").read_bytes()), "delivery.json"))
    assert [(r.line_no, r.offset) for r in records] == [(i, -1) for i in range(1, 6)]


def test_invictus_delivery_files_parse_completely(shared_data: Path) -> None:
    """All 27 Stratus Red Team delivery files: no reject, and per-eventName counts as derived upstream."""
    folder = shared_data / "cloudtrail" / "invictus_stratus"
    expected = json.loads((folder / "_eventName_counts.json").read_text())
    files = sorted(folder.glob("218007301253_CloudTrail_*.json"))
    assert len(files) == expected["files"] == 27
    counts: Counter[str] = Counter()
    reject_share: dict[str, float] = {}
    for path in files:
        with path.open("rb") as stream:
            events, rejects = parse_stream(stream, path.name)  # type: ignore[arg-type]
        reject_share[path.name] = len(rejects) / max(1, len(events) + len(rejects))
        counts.update(event.fields["event"]["action"] for event in events)
    assert reject_share == dict.fromkeys(reject_share, 0.0)
    assert sum(counts.values()) == expected["records"] == 1405
    assert counts == Counter(expected["eventName_counts"])


def test_otrf_ndjson_zip_parses_completely(shared_data: Path, tmp_path: Path) -> None:
    """The OTRF EC2-proxy exfiltration NDJSON (Logstash `@timestamp`, no eventTime): 103 events."""
    archive = shared_data / "cloudtrail" / "otrf_ec2_proxy_s3_exfiltration" / "ec2_proxy_s3_exfiltration.zip"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path)
    (member,) = tmp_path.glob("*.json")
    with member.open("rb") as stream:
        events, rejects = parse_stream(stream, member.name)  # type: ignore[arg-type]
    assert rejects == []
    assert len(events) == 103
    names = Counter(e.fields["event"]["action"] for e in events)
    assert names["GetObject"] > 0 and names["ListObjects"] > 0
    for event in events:
        trail = event.fields["aws"]["cloudtrail"]
        assert "@timestamp" not in trail and "@version" not in trail
        raw = json.loads(event.original)
        assert event.timestamp == datetime.fromisoformat(raw["@timestamp"])


class _GeneratedEnvelope(io.RawIOBase):
    """A delivery file of `count` records produced on the fly; counts the bytes handed out."""

    def __init__(self, count: int) -> None:
        self._chunks = self._generate(count)
        self._buffer = b""
        self.bytes_read = 0

    @staticmethod
    def _generate(count: int) -> Iterator[bytes]:
        template = fixture_records()[2]
        yield b'{"Records":['
        for i in range(count):
            record = dict(template, eventID=f"generated-{i}")
            yield (b"," if i else b"") + json.dumps(record).encode()
        yield b"]}"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._buffer) < len(buffer):
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        size = min(len(buffer), len(self._buffer))
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.bytes_read += size
        return size


def test_records_stream_in_constant_memory() -> None:
    """An 18 MB delivery file is read piecemeal: the first record comes early, memory stays small."""
    count = 8_000
    stream = _GeneratedEnvelope(count)
    records = PARSER.records(stream, "big.json")  # type: ignore[arg-type]
    first = next(iter(records))
    assert json.loads(first.text)["eventID"] == "generated-0"
    assert stream.bytes_read < 200_000
    tracemalloc.start()
    try:
        seen = 1 + sum(1 for _ in records)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert stream.bytes_read > 17_000_000
    assert peak < 5_000_000


def test_truncated_file_yields_what_it_could_then_an_error() -> None:
    """A delivery file cut inside record 3: records 1-2, then one error record; nothing raises."""
    data = (DATA / "delivery.json").read_bytes()
    cut = data.index(b"fbd91225-39aa-4c00-822c-9f0b96e7758f")
    records = list(PARSER.records(io.BytesIO(data[:cut]), "delivery.json"))
    assert [r.error is None for r in records] == [True, True, False]
    broken = records[-1]
    assert broken.line_no == 3
    assert broken.error is not None
    assert broken.error.startswith("invalid JSON after record 2 (within the first ")
    assert "premature EOF" in broken.error
    result = PARSER.parse(broken)
    assert isinstance(result, Rejected) and result.reason == broken.error and result.line_no == 3


def test_invalid_byte_inside_envelope_is_located() -> None:
    """A syntax error mid-file names the record count and the text around it."""
    data = (DATA / "delivery.json").read_bytes().replace(b'"eventName":"StopLogging"', b'"eventName" StopLogging', 1)
    records = list(PARSER.records(io.BytesIO(data), "delivery.json"))
    assert [r.error is None for r in records] == [True, False]
    assert records[-1].error is not None
    assert "after record 1" in records[-1].error and "StopLogging" in records[-1].error


def test_integer_beyond_64_bits_falls_back_without_losing_records() -> None:
    """yajl cannot hold 2**70; the file is re-read with ijson's Python backend, records in order."""
    records = fixture_records()
    records[1] = dict(records[1], requestParameters={"size": 2**70})
    events, rejects = parse_stream(json.dumps({"Records": records}).encode())
    assert rejects == []
    assert [e.fields["event"]["id"] for e in events] == [r["eventID"] for r in records]
    assert json.loads(events[1].fields["aws"]["cloudtrail"]["requestParameters"]) == {"size": 2**70}


def test_oversized_record_is_an_error_record() -> None:
    """A record re-serialised beyond MAX_LINE_BYTES is flagged, not passed on."""
    record = dict(fixture_records()[0], requestParameters={"blob": "x" * 1_100_000})
    records = list(PARSER.records(io.BytesIO(json.dumps({"Records": [record]}).encode()), "big.json"))
    assert len(records) == 1
    assert records[0].error == "record longer than 1048576 bytes"
    assert len(records[0].text) == 4096


_BASE = {"eventName": "DescribeVpcs", "eventTime": "2023-07-10T11:47:39Z", "eventSource": "ec2.amazonaws.com"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json at all", "invalid JSON: Expecting value at line 1 column 1"),
        (
            '{"eventName": "X",',
            "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 19",
        ),
        ("[1, 2]", "JSON value is an array, expected an object"),
        ('"eventName"', "JSON value is a string, expected an object"),
        ('{"eventTime": "2023-07-10T11:47:39Z"}', "missing eventName (not a CloudTrail record)"),
        (
            '{"eventName": "", "eventTime": "2023-07-10T11:47:39Z"}',
            "missing eventName (not a CloudTrail record)",
        ),
        ('{"eventName": "X"}', "missing eventTime (and no @timestamp)"),
        ('{"eventName": "X", "eventTime": "yesterday"}', "unparseable eventTime 'yesterday'"),
        ('{"eventName": "X", "eventTime": 1688989659}', "unparseable eventTime 1688989659"),
        (
            '{"eventName": "X", "@timestamp": "2023-13-01T00:00:00Z"}',
            "unparseable @timestamp '2023-13-01T00:00:00Z'",
        ),
        ('{"eventName": "X", "eventTime": NaN}', "invalid JSON: non-standard JSON constant NaN"),
        (
            '{"awsAccountId": "1", "digestStartTime": "2023-07-10T11:00:00Z"}',
            "a CloudTrail digest file, not an event record",
        ),
        (
            '{"x": 1, "Records": [{"eventName": "A"}]}',
            "a CloudTrail delivery envelope with 1 records given as one record",
        ),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(line: str, reason: str) -> None:
    """Each malformed record is rejected with a precise reason, keeping line number and text."""
    assert PARSER.parse(RawRecord(2, 17, line)) == Rejected(reason, 2, line)


def test_unrecognisable_file_is_read_as_lines_and_each_line_rejected() -> None:
    """Input that is no JSON layout at all: every line is its own reject, with its line number."""
    events, rejects = parse_stream(b"hello\n\n{not json}\n", "junk.json")
    assert events == []
    assert [(r.line_no, r.raw) for r in rejects] == [(1, "hello"), (3, "{not json}")]


def test_record_with_reader_error_is_rejected_with_that_error() -> None:
    """An error set by the reader becomes the reject reason."""
    result = PARSER.parse(RawRecord(7, 100, "abc", error="line longer than 1048576 bytes"))
    assert result == Rejected("line longer than 1048576 bytes", 7, "abc")


def test_console_login_failure_is_a_failed_outcome() -> None:
    """A failed console login has no errorCode, only responseElements.ConsoleLogin = Failure."""
    record = dict(
        fixture_records()[0],
        responseElements={"ConsoleLogin": "Failure"},
        errorMessage="Failed authentication",
    )
    event = PARSER.parse(RawRecord(1, -1, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.fields["event"]["outcome"] == "failure"
    assert event.fields["error"] == {"message": "Failed authentication"}
    assert event.fields["message"].endswith("failed: Failed authentication")


@pytest.mark.parametrize(
    ("identity", "name"),
    [
        ({"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::1:user/ignored"}, "alice"),
        ({"type": "Root", "arn": "arn:aws:iam::123456789012:root"}, "root"),
        ({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Admin/session-7"}, "session-7"),
        ({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, None),
    ],
)
def test_user_name_comes_from_user_name_or_arn(identity: dict[str, str], name: str | None) -> None:
    """user.name: userIdentity.userName, else the last part of the ARN."""
    assert cloudtrail.user_name(identity) == name


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("203.0.113.9", {"address": "203.0.113.9", "ip": "203.0.113.9"}),
        ("2001:db8::1", {"address": "2001:db8::1", "ip": "2001:db8::1"}),
        ("AWS Internal", {"address": "AWS Internal"}),
        ("health.amazonaws.com", {"address": "health.amazonaws.com", "domain": "health.amazonaws.com"}),
    ],
)
def test_source_address_becomes_ip_or_domain(address: str, source: dict[str, str]) -> None:
    """sourceIPAddress is always source.address, and source.ip or source.domain when it is one."""
    event = PARSER.parse(RawRecord(1, -1, json.dumps(dict(_BASE, sourceIPAddress=address))))
    assert isinstance(event, Event)
    assert event.fields["source"] == source


@pytest.mark.parametrize(
    ("source", "name", "category", "types"),
    [
        ("signin.amazonaws.com", "ConsoleLogin", ("authentication",), ("start",)),
        ("sts.amazonaws.com", "AssumeRole", ("authentication",), ("start",)),
        ("iam.amazonaws.com", "CreateUser", ("iam",), ("user", "creation")),
        ("iam.amazonaws.com", "AttachRolePolicy", ("iam",), ("admin", "change")),
        ("iam.amazonaws.com", "AddUserToGroup", ("iam",), ("user", "group", "change")),
        ("iam.amazonaws.com", "ListUsers", ("iam",), ("user", "info")),
        ("cloudtrail.amazonaws.com", "DeleteTrail", ("configuration",), ("deletion",)),
        ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", ("configuration",), ("change",)),
        ("ec2.amazonaws.com", "DescribeInstances", ("configuration",), ("access",)),
    ],
)
def test_classification(source: str, name: str, category: tuple[str, ...], types: tuple[str, ...]) -> None:
    """event.category/type follow the service and the verb of the call."""
    assert cloudtrail.classify(source, name) == (category, types)


def test_unexpected_container_types_are_dropped_and_tagged() -> None:
    """A scalar where CloudTrail has an object would fail indexing: it stays only in event.original."""
    record = dict(_BASE, responseElements="OK", userIdentity=["x"], resources="arn:aws:s3:::b")
    event = PARSER.parse(RawRecord(1, -1, json.dumps(record)))
    assert isinstance(event, Event)
    trail = event.fields["aws"]["cloudtrail"]
    assert "responseElements" not in trail and "userIdentity" not in trail and "resources" not in trail
    assert event.fields["tags"] == [
        "cloudtrail_userIdentity_not_an_object",
        "cloudtrail_responseElements_not_an_object",
        "cloudtrail_resources_not_a_list_of_objects",
    ]


def test_promoted_request_parameters_are_strings_only() -> None:
    """Only string values are copied to aws.cloudtrail.request_parameters (one type per field)."""
    record = dict(_BASE, requestParameters={"userName": "bob", "roleArn": {"nested": 1}, "other": "x"})
    event = PARSER.parse(RawRecord(1, -1, json.dumps(record)))
    assert isinstance(event, Event)
    assert event.fields["aws"]["cloudtrail"]["request_parameters"] == {"userName": "bob"}
    assert event.fields["user"]["target"] == {"name": "bob"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text: str) -> None:
    """Whatever the text, parse returns an Event or a Rejected for the input, never for a parser crash."""
    result = PARSER.parse(RawRecord(1, 0, text))
    assert isinstance(result, Event | Rejected)
    assert not is_internal_error(result), result


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_FIELDS = st.sampled_from(
    [
        "eventName", "eventTime", "@timestamp", "eventSource", "userIdentity", "requestParameters",
        "responseElements", "additionalEventData", "sourceIPAddress", "errorCode", "resources", "Records",
    ]
)  # fmt: skip
_TIMES = st.sampled_from(
    ["2023-07-10T11:47:39Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2023-07-10", "x"]
)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(_FIELDS, _JSON | _TIMES, max_size=10),
    st.sampled_from(["X", "ConsoleLogin", "CreateUser"]),
)
def test_parse_never_raises_on_odd_records(record: dict[str, Any], name: str) -> None:
    """Records with any JSON in the known fields: an Event whose document serialises, or a Rejected."""
    record.setdefault("eventName", name)
    result = PARSER.parse(RawRecord(1, 0, json.dumps(record)))
    assert isinstance(result, Event | Rejected)
    assert not is_internal_error(result), result
    if isinstance(result, Event):
        json.dumps(result.document())
        trail = result.fields["aws"]["cloudtrail"]
        for key in ("userIdentity", "responseElements", "additionalEventData"):
            assert trail.get(key) is None or isinstance(trail[key], dict)


def test_nested_objects_are_flattened_to_path_value_entries() -> None:
    """Each leaf of an object-valued field is one `path=value` entry: lists share their path, JSON scalars
    keep their JSON text, nulls and repeats are left out, and non-object fields get no entries."""
    record = {
        "eventTime": "2026-11-30T10:00:00Z",
        "eventName": "RegisterTaskDefinition",
        "requestParameters": {
            "family": "app",
            "containerDefinitions": [
                {"command": ["sh", "-c", "id"], "cpu": 256, "essential": True, "memory": None},
                {"command": ["sh"]},
            ],
        },
        "responseElements": None,
    }
    fields = cloudtrail.to_ecs(record)
    assert fields["aws"]["cloudtrail"]["flattened"] == {
        "requestParameters": [
            "family=app",
            "containerDefinitions.command=sh",
            "containerDefinitions.command=-c",
            "containerDefinitions.command=id",
            "containerDefinitions.cpu=256",
            "containerDefinitions.essential=true",
        ]
    }
    assert cloudtrail.flattened_entries("a string") == []
