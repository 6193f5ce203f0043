"""The index namespaces tests work in: their own (`siemtest`, set by conftest) and the users' default (`siem`).

Pure tests of artefacts and golden outputs pin what users get, so they read names in the default
namespace; they create nothing. Live tests always use the test namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster_project.settings import DEFAULT_PREFIX
from dagster_project.storage import naming


@contextmanager
def users_namespace() -> Iterator[None]:
    """Within the block, names are the users' (`siem-...`); the test namespace is restored after it."""
    before = os.environ.get(naming.PREFIX_ENV)
    os.environ[naming.PREFIX_ENV] = DEFAULT_PREFIX
    try:
        yield
    finally:
        if before is None:
            del os.environ[naming.PREFIX_ENV]
        else:
            os.environ[naming.PREFIX_ENV] = before
