"""`.evtx` files read record by record through the `evtx` library, as evtx_dump JSON; damage becomes error records."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

from dagster_project.sources.base import RawRecord
from dagster_project.storage import naming

_SPOOL_CHUNK = 1 << 20
_MAX_EVTX_ERRORS = 100
"""A damaged file can fail on every chunk; stop after this many errors instead of reporting each."""


def evtx_records(stream: BinaryIO, path: str) -> Iterator[RawRecord]:
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
