"""Runs a command tied to its parent: the command gets SIGTERM when the parent process dies.

`python -m dagster_project.collect.tethered PARENT_PID -- COMMAND [ARG...]` asks Linux to signal this
process when its parent dies (`prctl(PR_SET_PDEATHSIG, SIGTERM)`), then becomes COMMAND (`execv`: the same
pid, the same open descriptors; the request survives the exec). `siem serve`'s supervisor starts its
children this way, so a supervisor killed by SIGKILL or the OOM killer leaves no receiver holding its ports
and spooling with nobody to restart it, and no Dagster daemon launching runs: each child stops as it does
on the supervisor's own SIGTERM (the receiver seals its open segments). A parent that died before the
request took effect is seen by PARENT_PID no longer being the parent, and the command is not run.

Linux signals a child when the *thread* that started it ends: the supervisor starts its children from
its main thread only. Where prctl does not exist (not Linux) the command runs untethered.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""
PARENT_GONE = 75
"""The exit status when the parent died before the tether held (EX_TEMPFAIL: the supervisor is gone)."""


def command(parent_pid: int, argv: list[str]) -> list[str]:
    """`argv`, run by this module tied to `parent_pid` (give `os.getpid()` of the process that starts it)."""
    return [sys.executable, "-m", __name__, str(parent_pid), "--", *argv]


def tie_to_parent(parent_pid: int) -> bool:
    """Ask for SIGTERM when the parent dies; False when the parent is already gone. True without prctl."""
    libc_name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(libc_name, use_errno=True), "prctl", None) if libc_name else None
    if prctl is not None and prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:  # only Linux's libc has it
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return os.getppid() == parent_pid


def main(arguments: list[str]) -> int:
    """Tie this process to its parent and exec the command; returns only on a usage error or a gone parent."""
    if len(arguments) < 3 or arguments[1] != "--" or not arguments[0].isdigit():
        print("usage: python -m dagster_project.collect.tethered PARENT_PID -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    if not tie_to_parent(int(arguments[0])):
        print(f"tethered: parent {arguments[0]} is gone; not starting {arguments[2]}", file=sys.stderr)
        return PARENT_GONE
    os.execv(arguments[2], arguments[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
