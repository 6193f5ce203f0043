"""Every source's `parse` goes through one guard: flagged records and parser bugs become rejects, never exceptions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_project.sources import cloudtrail, jsonl, linux_auth, web_access, windows
from dagster_project.sources.base import RawRecord, Rejected, SourceContext, guarded_parse
from dagster_project.sources.registry import parser_factory, source_names

CONTEXT = SourceContext(path="t", reference_time=datetime(2024, 6, 1, tzinfo=UTC))


def _boom(*_args: object) -> object:
    raise KeyError("surprise")


def test_a_flagged_record_is_rejected_with_the_readers_reason() -> None:
    record = RawRecord(7, 0, "x", error="binary data (NUL bytes)")
    result = guarded_parse(record, _boom, "demo")  # type: ignore[arg-type]
    assert result == Rejected("binary data (NUL bytes)", 7, "x")


def test_an_exception_becomes_a_reject_naming_the_source() -> None:
    result = guarded_parse(RawRecord(3, 0, "line"), _boom, "demo")  # type: ignore[arg-type]
    assert result == Rejected("internal error in the demo parser: KeyError: 'surprise'", 3, "line")


@pytest.mark.parametrize(
    ("source", "module", "inner"),
    [
        ("linux-auth", linux_auth, None),
        ("web-access", web_access, "_parse"),
        ("cloudtrail", cloudtrail, "load_json_object"),
        ("jsonl", jsonl, "load_json_object"),
        ("windows", windows, "extract"),
    ],
)
def test_each_source_quarantines_its_own_bugs(
    source: str, module: object, inner: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert source in source_names()
    parser = parser_factory(source)(CONTEXT)
    if inner is None:
        monkeypatch.setattr(parser, "_parse", _boom)
    else:
        monkeypatch.setattr(module, inner, _boom)
    result = parser.parse(RawRecord(1, 0, '{"Event": {}}'))
    assert isinstance(result, Rejected)
    assert result.reason == f"internal error in the {source} parser: KeyError: 'surprise'"
