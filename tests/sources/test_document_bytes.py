"""Pinned bytes: what every source makes of fixed inputs, as canonical JSON and ids, stays byte for byte the same.

The golden tests compare documents as dicts, where `1 == 1.0` and key order does not count; the integrity
chain hashes bytes and dedup keys on ids, so a speed-up that changes a number's type, a float's text, an
escape or a reject reason must show up here. Each digest covers, for every record of an input, the event id
and canonical JSON of its document (or the reject reason), and was computed by the code before the parse
speed-up of issue 14. A changed digest is a changed document: find it with `_lines(...)` before and after.
"""

# ruff: noqa: E501  (pinned bytes are kept whole, one record a line)

from __future__ import annotations

import gzip
import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dagster_project.ingest.ids import event_id
from dagster_project.integrity.hashing import canonical_json
from dagster_project.sources.base import Event, SourceContext
from dagster_project.sources.registry import parser_factory

DATA = Path(__file__).parents[1] / "data"
REFERENCE = datetime(2024, 1, 1, tzinfo=UTC)


def _lines(source: str, data: bytes, path: str = "input", limit: int = 3000) -> list[bytes]:
    """One line per record: the id and canonical JSON of its document, or the reject's reason and line."""
    parser = parser_factory(source)(SourceContext(path, REFERENCE))
    out: list[bytes] = []
    for n, record in enumerate(parser.records(io.BytesIO(data), path)):
        if n >= limit:
            break
        result = parser.parse(record)
        if isinstance(result, Event):
            out.append(event_id(source, result.original).encode() + b" " + canonical_json(result.document()))
        else:
            out.append(f"rejected {result.line_no}: {result.reason}".encode("utf-8", "surrogateescape"))
    return out


def _digest(lines: list[bytes]) -> str:
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        (
            "linux-auth",
            "linux_auth/auth.sample.log",
            "cb2618d3ba5c9cdc14db74d2dad62da38c7d42d63e4c06e035570f3e29db4613",
        ),
        ("linux-auth", "linux_auth/synthetic.log", "92eab8f8fdd3d13c488d3d6abd1066d5935f898ca435ba9f237d67bacb976c7b"),
        ("web-access", "web/access.sample.log", "fc526ac8568ccb51bb8804d32db0b5f44058a965cc132709da34b691fde8ba52"),
        ("web-access", "web/synthetic.log", "a0c6b22e82f427f34fdd70efafc67940a724cffd5625fd4b7796fdac45f14a45"),
        ("cloudtrail", "cloudtrail/delivery.json", "f425508d1da0a048a990ededaf5e75c3c05a0957371a3939324218de6628028a"),
        (
            "cloudtrail",
            "cloudtrail/otrf_records.jsonl",
            "936df4903d658f54d4113d5379e75b7ab37dba91814d7598ae55cb7b08dcde89",
        ),
        ("jsonl", "jsonl/sample.jsonl", "d406cbc11946676a14aea2dea29cc77ea951b7b511ec650b9e51ae4a99d9c7ea"),
        ("windows", "windows/otrf_flat.jsonl", "6adc7a0242f474131f99343d159a84c8e9c39e25da173b7b2bda52c05b40c339"),
        (
            "windows",
            "windows/otrf_winlogbeat6.jsonl",
            "54a28e7db3fa4afaee7250691e4d225d7021aaf0fc03ea38cbfe94ccd5030fdc",
        ),
        ("windows", "windows/otrf_nxlog.jsonl", "e9a91628e9c9dae01cc91dca9840f566ad94882f497696392f0e2ba6af8b67fb"),
        (
            "windows",
            "windows/synthetic_evtx_dump.jsonl",
            "bc2258ac533aad8eea8ed9d6e28d4e3d6b6ddbc5fdeee6d57957fe37fe80b71b",
        ),
        (
            "windows",
            "windows/synthetic_evtx_dump_pretty.json",
            "f87a7ca4ab8f3fb79510adf653c5627d0d5878a55a66078023663b980ea2331b",
        ),
        (
            "windows",
            "windows/synthetic_winlogbeat.jsonl",
            "6f39ca5bdf9d03272aeacb0a1b1d9825c44d898b3eb3f8e9af2c0d04004d94ae",
        ),
    ],
)
def test_test_data_bytes_are_pinned(source: str, name: str, expected: str) -> None:
    """The project's own sample inputs give the same document bytes and ids as before."""
    assert _digest(_lines(source, (DATA / name).read_bytes(), name)) == expected


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        (
            "linux-auth",
            "linux_auth/elastic_auth/auth.part1.log",
            "d2a3da0d374fcaa63ad53f9e0adc7842df90e0afa868c0cfec03aac379f3930c",
        ),
        ("web-access", "web/apache_access_elastic", "9fdd4a0090e85e84f9011375c90fab587266ad82101ac7ed97c3a7fe8fb5e675"),
        (
            "cloudtrail",
            "cloudtrail/invictus_stratus",
            "92ce70ed97a5c9633f639dbc9f4048b2ef19ff81778ca9b1d05890989e92f9a0",
        ),
        ("windows", "windows/evtx_attack_samples", "faa523080b945d8366a9202b38ba68753284c156ee70b617e3dd23e27110834b"),
    ],
)
def test_shared_samples_bytes_are_pinned(shared_data: Path, source: str, name: str, expected: str) -> None:
    """The benchmark's real samples (the first records of each file) give the same bytes and ids as before."""
    root = shared_data / name
    files = (
        sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("_")) if root.is_dir() else [root]
    )
    if source == "windows":
        files = [p for p in files if p.name.endswith((".jsonl", ".jsonl.gz"))]
    lines: list[bytes] = []
    for path in files:
        lines.extend(_lines(source, _read(path), path.name, limit=500))
    assert len(lines) > 100
    assert _digest(lines) == expected


TRICKY_JSONL = [
    # numbers: beyond 64 bits, huge exponents, negative zero, exponents and fractions as written
    '{"@timestamp": "2024-03-01T10:00:00Z", "n": [18446744073709551616, -9223372036854775809, 1e400, -0.0, -0]}',
    '{"@timestamp": "2024-03-01T10:00:00Z", "f": [1.0, 1E5, 1e-7, 0.1, 123456789012345678901234567890.5, 5e-324]}',
    # escapes: a lone surrogate, NUL, a dotted key spelled with an escape, an escaped quote in a key
    '{"@timestamp": "2024-03-01T10:00:00Z", "s": "\\ud800 and \\u0000", "user\\u002ename": "x", "a\\"b.c": 1}',
    # duplicate keys (the last wins), an empty key, a key that only looks dotted after a colon
    '{"@timestamp": "2024-03-01T10:00:00Z", "k": 1, "k": 2, "x": {"": 1}}',
    '{"@timestamp": "2024-03-01T10:00:00Z", "v": "a.b\\":", "w": {"p.q": [{"r.s": 1}]}}',
    # whitespace, non-ASCII and epoch-millis timestamps
    ' {"@timestamp" : 1709287200123 , "m" : "caf\u00e9 \u2028 \U0001f600"} ',
    '{"@timestamp": 1709287200.5, "event": {"original": "dropped", "kind": "event"}}',
    # rejects: not JSON, not an object, NaN, a bad timestamp, a reserved key
    '{"@timestamp": "2024-03-01T10:00:00Z", "a": NaN}',
    "[1, 2]",
    '{"@timestamp": "yesterday"}',
    '{"@timestamp": "2024-03-01T10:00:00Z", "_id": "x"}',
    '{"@timestamp": "2024-03-01T10:00:00Z", "a.b": 1, "a": 2}',
]


def test_tricky_jsonl_bytes_are_pinned() -> None:
    """Numbers, escapes, duplicate and dotted keys, rejects: the exact bytes JSON lines come out as."""
    data = "\n".join(TRICKY_JSONL).encode("utf-8", "surrogatepass")
    got = _lines("jsonl", data)
    assert [line.decode("utf-8", "backslashreplace") for line in got] == [
        '0b04cd828fca2477fadbebe17271f28d {"@timestamp":"2024-03-01T10:00:00Z","event":{"original":"{\\"@timestamp\\": \\"2024-03-01T10:00:00Z\\", \\"n\\": [18446744073709551616, -9223372036854775809, 1e400, -0.0, -0]}"},"n":[18446744073709551616,-9223372036854775809,Infinity,-0.0,0]}',
        '3c718cbd4f64818ea9f320559fba560c {"@timestamp":"2024-03-01T10:00:00Z","event":{"original":"{\\"@timestamp\\": \\"2024-03-01T10:00:00Z\\", \\"f\\": [1.0, 1E5, 1e-7, 0.1, 123456789012345678901234567890.5, 5e-324]}"},"f":[1.0,100000.0,1e-7,0.1,1.2345678901234568e+29,5e-324]}',
        '21101cd835fd0433712ed7faf8a14bb2 {"@timestamp":"2024-03-01T10:00:00Z","a\\"b":{"c":1},"event":{"original":"{\\"@timestamp\\": \\"2024-03-01T10:00:00Z\\", \\"s\\": \\"\\\\ud800 and \\\\u0000\\", \\"user\\\\u002ename\\": \\"x\\", \\"a\\\\\\"b.c\\": 1}"},"s":"\\ud800 and \\u0000","user":{"name":"x"}}',
        "rejected 4: invalid field name 'x.'",
        '60089ed849e6ebb35d982b6a27cdafef {"@timestamp":"2024-03-01T10:00:00Z","event":{"original":"{\\"@timestamp\\": \\"2024-03-01T10:00:00Z\\", \\"v\\": \\"a.b\\\\\\":\\", \\"w\\": {\\"p.q\\": [{\\"r.s\\": 1}]}}"},"v":"a.b\\":","w":{"p":{"q":[{"r":{"s":1}}]}}}',
        '3ed4b6aaf734257efa8d1bb97a1c842a {"@timestamp":"2024-03-01T10:00:00.123000Z","event":{"original":" {\\"@timestamp\\" : 1709287200123 , \\"m\\" : \\"café \u2028 😀\\"} "},"m":"café \u2028 😀"}',
        '3c5f967f0f36f8f914d62460c5aa5662 {"@timestamp":"1970-01-20T18:48:07.200500Z","event":{"kind":"event","original":"{\\"@timestamp\\": 1709287200.5, \\"event\\": {\\"original\\": \\"dropped\\", \\"kind\\": \\"event\\"}}"}}',
        "rejected 8: invalid JSON: non-standard JSON constant NaN",
        "rejected 9: JSON value is an array, expected an object",
        "rejected 10: unparseable @timestamp 'yesterday'",
        "rejected 11: field '_id' is reserved for OpenSearch metadata",
        "rejected 12: field 'a' is given twice (dotted and nested)",
    ]


def test_tricky_cloudtrail_bytes_are_pinned() -> None:
    """requestParameters with floats, big integers and non-ASCII keep their compact JSON text exactly."""
    record = (
        '{"eventTime": "2024-03-01T10:00:00Z", "eventName": "PutObject", "eventSource": "s3.amazonaws.com",'
        ' "requestParameters": {"z": 1e400, "a": [1.0, 1e-7, 18446744073709551616], "k\u00e9y": "v\\u0001",'
        ' "bucketName": "b"}, "sourceIPAddress": "10.0.0.1"}'
    )
    got = _lines("cloudtrail", record.encode())
    assert [line.decode() for line in got] == [
        '6b282f76de04d9957157b9b610421538 {"@timestamp":"2024-03-01T10:00:00Z","aws":{"cloudtrail":{"eventName":"PutObject","eventSource":"s3.amazonaws.com","eventTime":"2024-03-01T10:00:00Z","flattened":{"requestParameters":["z=Infinity","a=1.0","a=1e-07","a=18446744073709551616","kéy=v\\u0001","bucketName=b"]},"requestParameters":"{\\"a\\":[1.0,1e-07,18446744073709551616],\\"bucketName\\":\\"b\\",\\"kéy\\":\\"v\\\\u0001\\",\\"z\\":Infinity}","request_parameters":{"bucketName":"b"},"sourceIPAddress":"10.0.0.1"}},"cloud":{"provider":"aws"},"event":{"action":"PutObject","category":["configuration"],"dataset":"aws.cloudtrail","kind":"event","module":"aws","original":"{\\"eventTime\\": \\"2024-03-01T10:00:00Z\\", \\"eventName\\": \\"PutObject\\", \\"eventSource\\": \\"s3.amazonaws.com\\", \\"requestParameters\\": {\\"z\\": 1e400, \\"a\\": [1.0, 1e-7, 18446744073709551616], \\"kéy\\": \\"v\\\\u0001\\", \\"bucketName\\": \\"b\\"}, \\"sourceIPAddress\\": \\"10.0.0.1\\"}","outcome":"success","provider":"s3.amazonaws.com","type":["change"]},"message":"PutObject on s3.amazonaws.com by unknown identity from 10.0.0.1","related":{"ip":["10.0.0.1"]},"source":{"address":"10.0.0.1","ip":"10.0.0.1"}}',
    ]
