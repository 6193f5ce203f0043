"""What ingestion reads: record streams. A file is one; a spooled segment of received records is another.

A stream yields raw records for one parser, says which identity each event's id is made from (a scope and
an occurrence number, see `ingest.ids.event_id`) and may add what only it knows to each document (for
received records: the sender's address and the time of receipt). Everything else — parsing, validation,
ids, quarantine, the integrity chain and reconciliation — is the same pipeline for every stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from dagster_project.ingest.ids import RepeatCounter
from dagster_project.ingest.inputs import InputFile, OpenedInput, open_input
from dagster_project.sources.base import RawRecord, SourceContext, SourceParser


class RecordStream(Protocol):
    """One input read in order by one parser."""

    label: str
    """Where the records come from, as stored in `siem.file` and in quarantine documents."""
    size: int
    """Bytes on disk, for progress."""

    def context(self) -> SourceContext:
        """What the parser may know about the input (its path and reference time)."""
        ...

    def records(self, parser: SourceParser) -> Iterator[RawRecord]:
        """The raw records, streaming; the stream closes what it opened when the iterator ends."""
        ...

    def identity(self, record: RawRecord, original: str) -> tuple[str, int]:
        """(scope, occurrence) of the event just parsed from `record`: the inputs of its document id."""
        ...

    def annotate(self, doc: dict[str, Any], record: RawRecord) -> None:
        """Add the fields only the stream knows to an event's document (nothing, for a file)."""
        ...

    def position(self) -> int:
        """Bytes of the input consumed so far (for progress)."""
        ...

    def trailing_error(self) -> str | None:
        """A problem found at the end of the input (a truncated gzip, a decompression cap hit)."""
        ...


class FileStream:
    """A file (plain or gzip): ids are the line's content and its repeat number within the file."""

    def __init__(self, item: InputFile) -> None:
        self.item = item
        self.label = str(item.path)
        self.size = item.size
        self._opened: OpenedInput | None = None
        self._repeats = RepeatCounter()
        self._trailing: str | None = None

    def context(self) -> SourceContext:
        """The path and the file's mtime (the RFC 3164 year rule's reference)."""
        return SourceContext(path=self.label, reference_time=datetime.fromtimestamp(self.item.mtime, UTC))

    def records(self, parser: SourceParser) -> Iterator[RawRecord]:
        """The source reader's records of the (decompressed) file."""
        self._opened = open_input(self.item.path)
        try:
            yield from parser.records(self._opened.stream, self.label)
        finally:
            self._trailing = self._opened.trailing_error()
            self._opened.close()

    def identity(self, record: RawRecord, original: str) -> tuple[str, int]:
        """No scope; the occurrence tells apart identical lines of the file (see RepeatCounter)."""
        return "", self._repeats.occurrence(original)

    def annotate(self, doc: dict[str, Any], record: RawRecord) -> None:
        """A file adds nothing."""

    def position(self) -> int:
        """Bytes of the file on disk read so far."""
        return self._opened.disk_position() if self._opened is not None else 0

    def trailing_error(self) -> str | None:
        """The gzip trouble found at the end of the file, if any."""
        return self._trailing
