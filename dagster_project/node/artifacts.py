"""Fetches the node's zips from Maven Central with the ordinary `mvn` client into a cache outside git."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

from dagster_project.errors import NodeError
from dagster_project.node.manifest import Artifact

log = logging.getLogger(__name__)

MVN_TIMEOUT_SECONDS = 900
NOT_PUBLISHED_TTL_SECONDS = 24 * 3600
"""How long Maven Central's "no such artifact" is believed before it is asked again (each ask takes seconds)."""
_NOT_FOUND = re.compile(r"Could not find artifact|was not found in https?://")


class ArtifactNotPublished(NodeError):
    """Maven Central answered that this artifact does not exist (final, unlike a network failure)."""


def fetch(artifact: Artifact, cache_dir: Path) -> Path:
    """The artifact's local file, downloaded with `mvn dependency:copy` when it is not cached yet.

    Blocks until mvn finishes (up to 15 minutes). Raises ArtifactNotPublished when Maven Central has no
    such artifact (remembered in the cache for a day), NodeError for any other failure; both name the artifact.
    """
    target = cache_dir / artifact.file_name
    if target.is_file() and target.stat().st_size > 0:
        return target
    absent = cache_dir / f"{artifact.file_name}.not-published"
    if absent.is_file() and time.time() - absent.stat().st_mtime < NOT_PUBLISHED_TTL_SECONDS:
        raise ArtifactNotPublished("not published on Maven Central", where=artifact.coordinates)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise NodeError(
            "Maven (`mvn`) is not on PATH; it is needed to download the node from Maven Central "
            "(Debian: apt-get install maven)",
            where=artifact.coordinates,
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        mvn,
        "-B",
        "-q",
        "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
        f"-Dartifact={artifact.coordinates}",
        f"-DoutputDirectory={cache_dir}",
    ]
    log.info("downloading %s", artifact.coordinates)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=MVN_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise NodeError(f"download timed out after {MVN_TIMEOUT_SECONDS}s", where=artifact.coordinates) from exc
    output = done.stdout + done.stderr
    if done.returncode != 0 or not target.is_file():
        if _NOT_FOUND.search(output):
            absent.write_text(output.strip()[-2000:] + "\n")
            raise ArtifactNotPublished("not published on Maven Central", where=artifact.coordinates)
        last = [line for line in output.splitlines() if "ERROR" in line][:3]
        detail = " | ".join(line.strip() for line in last) or output.strip()[-500:]
        raise NodeError(f"download failed: {detail}", where=artifact.coordinates)
    return target
