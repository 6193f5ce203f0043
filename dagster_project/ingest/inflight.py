"""Bulk requests in flight side by side: `streaming_bulk` in a few writer threads, results handed to the caller.

One `streaming_bulk` sends a chunk and waits for its answer before it builds the next: while the client
chunks, sends and reads answers (Python work in the calling thread), the node idles, and while the node
indexes, the client waits. With `writers` threads, each running its own `streaming_bulk` over one shared
stream of actions, a second chunk is on its way while the first is indexed, so the node always has work.
Each writer keeps `streaming_bulk`'s behaviour whole: its chunking, its 429 retries, `raise_on_exception`.

The caller gets every writer's `(ok, item)` in the calling thread, in the order answers arrive (not the
order of the actions). When a writer fails, the others take no more actions, and the answers of requests
already sent are still handed over (what the node acknowledged is counted and sealed); then the first error
is raised. A caller that stops early (an error, a closed generator) stops the writers before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from opensearchpy import helpers

_POLL_SECONDS = 0.1

Answer = tuple[bool, dict[str, Any]]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def bulk_in_flight(
    client: Any, actions: Iterable[dict[str, Any]], *, writers: int = 2, **streaming_kwargs: Any
) -> Generator[Answer, None, None]:
    """The answers of `helpers.streaming_bulk(client, actions, **streaming_kwargs)`, with `writers` requests at once."""
    source = iter(actions)
    taking = threading.Lock()
    stop = threading.Event()
    """The caller is gone: writers drop their answers and end."""
    no_more = threading.Event()
    """A writer failed: the others send no new action, and hand over the answers of what they sent."""
    answers: queue.Queue[object] = queue.Queue(maxsize=writers * 4)

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                answers.put(value, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def shared() -> Iterator[dict[str, Any]]:
        while not stop.is_set() and not no_more.is_set():
            with taking:
                try:
                    action = next(source)
                except StopIteration:
                    return
            yield action

    def write() -> None:
        block: list[Answer] = []
        try:
            for answer in helpers.streaming_bulk(client, shared(), **streaming_kwargs):
                block.append(answer)
                if len(block) >= 500:  # handed over in blocks: one queue operation per answer would cost more
                    if not put(block):
                        return
                    block = []
            if block and not put(block):
                return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001  (handed to the caller, which raises it)
            if not block or put(block):
                put(_Failed(exc))

    threads = [threading.Thread(target=write, name=f"bulk-writer-{n}", daemon=True) for n in range(writers)]
    for thread in threads:
        thread.start()
    failure: BaseException | None = None
    try:
        running = writers
        while running:
            value = answers.get()
            if value is _DONE:
                running -= 1
            elif isinstance(value, _Failed):
                running -= 1
                no_more.set()
                failure = failure or value.error
            else:
                yield from value  # type: ignore[misc]
        if failure is not None:
            raise failure
    finally:
        stop.set()
        for thread in threads:
            thread.join()
