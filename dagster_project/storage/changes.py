"""What applying an artefact did: one `Change` per template, policy, role, mapping or user."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Change:
    """What bootstrap did to one artefact."""

    kind: str
    name: str
    action: str
    """created | updated | unchanged | skipped"""
    detail: str = ""


ACTIONS = ("created", "updated", "unchanged", "skipped")


def as_dicts(changes: list[Change]) -> list[dict[str, str]]:
    """Changes as plain data for --json."""
    return [asdict(c) for c in changes]


def counts(changes: list[Change]) -> dict[str, int]:
    """How many changes of each action."""
    return {action: sum(c.action == action for c in changes) for action in ACTIONS}
