"""Who the suite acts as, for its own audit trail: OPENSEARCH_USER when set, else the local account."""

from __future__ import annotations

import getpass

from dagster_project.settings import ConnectionSettings


def actor() -> str:
    """The name recorded as the actor of an administrative action."""
    user = ConnectionSettings().user
    if user:
        return user
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"
