"""The real receiver, wrapped so that it dies (SIGKILL) right after a batch is durable and before it answers.

Fault injection by wrapping the real thing: `Receiver.durable` runs as usual, then, once (a marker file
records it), the process kills itself. Run as a script: `python crash_after_spool.py MARKER`.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from dagster_project.collect import receiver

marker = Path(sys.argv[1])
durable = receiver.Receiver.durable


async def durable_then_die(self: receiver.Receiver) -> None:
    """Make the batch durable, then die before the response is written."""
    await durable(self)
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)


receiver.Receiver.durable = durable_then_die  # type: ignore[method-assign]
receiver.main([])
