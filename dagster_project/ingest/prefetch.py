"""Read ahead: an iterator run in a background thread, handed over in blocks, so producing overlaps consuming.

Ingestion alternates two kinds of work: building a bulk chunk (parsing, normalising, serialising: Python
CPU) and waiting for the node to index it (a socket read, the GIL released). Run one after the other, the
node idles while the client builds and the client idles while the node indexes. `read_ahead` builds the
next blocks while the current one is in flight. The producer is the only code that runs the iterator;
an exception it raises is re-raised in the consumer, and a consumer that stops early (an error, a closed
generator) stops the producer before it returns. At most `depth` blocks wait between them, so memory
stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


def read_ahead(items: Iterable[T], *, block: int = 500, depth: int = 4) -> Generator[T, None, None]:
    """`items`, produced by a background thread up to `depth` blocks of `block` items ahead of the consumer."""
    handover: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                handover.put(value, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        pending: list[T] = []
        try:
            for item in iterator:
                pending.append(item)
                if len(pending) >= block:
                    if not put(pending):
                        return
                    pending = []
            if pending and not put(pending):
                return
            put(_END)
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which re-raises it)
            if not pending or put(pending):  # the items before the error first
                put(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (open files) runs in the thread that ran it

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            value = handover.get()
            if value is _END:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield from value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
