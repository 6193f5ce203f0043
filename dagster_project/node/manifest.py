"""Loads distribution.json: the pinned OpenSearch version and the Maven coordinates of the node's parts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from dagster_project.errors import ArtifactError


@dataclass(frozen=True)
class Artifact:
    """One Maven artifact: a name (plugin name or `opensearch`), its coordinates and what it provides."""

    name: str
    coordinates: str
    provides: str = ""

    @property
    def file_name(self) -> str:
        """The file name Maven gives the artifact (artifactId-version.packaging)."""
        _group, artifact_id, version, packaging = self.coordinates.split(":")
        return f"{artifact_id}-{version}.{packaging}"


@dataclass(frozen=True)
class Module:
    """A core module the minimal distribution leaves out: its jar on Maven Central and its descriptor's fields."""

    artifact: Artifact
    classname: str
    description: str
    dependencies: tuple[Artifact, ...] = ()

    @property
    def name(self) -> str:
        """The module's name (its folder under modules/)."""
        return self.artifact.name


@dataclass(frozen=True)
class Distribution:
    """The pinned distribution and plugins."""

    version: str
    plugin_version: str
    distribution: Artifact
    plugins: tuple[Artifact, ...]
    secure_plugins: tuple[Artifact, ...]
    modules: tuple[Module, ...] = ()


def load_distribution() -> Distribution:
    """Read and validate distribution.json from the package."""
    where = "dagster_project/node/distribution.json"
    try:
        raw = json.loads(resources.files("dagster_project.node").joinpath("distribution.json").read_text())
        version = raw["version"]
        plugin_version = raw["plugin_version"]

        def artifact(name: str, template: str, provides: str = "") -> Artifact:
            coordinates = template.format(version=version, plugin_version=plugin_version)
            if coordinates.count(":") != 3:
                raise ArtifactError(f"{name}: coordinates must be group:artifact:version:packaging", where=where)
            return Artifact(name, coordinates, provides)

        return Distribution(
            version=version,
            plugin_version=plugin_version,
            distribution=artifact("opensearch", raw["distribution"]),
            plugins=tuple(artifact(p["name"], p["artifact"], p.get("provides", "")) for p in raw["plugins"]),
            secure_plugins=tuple(
                artifact(p["name"], p["artifact"], p.get("provides", "")) for p in raw.get("secure_plugins", [])
            ),
            modules=tuple(
                Module(
                    artifact(m["name"], m["artifact"], m.get("provides", "")),
                    classname=m["classname"],
                    description=m["description"],
                    dependencies=tuple(artifact(m["name"], d) for d in m.get("dependencies", [])),
                )
                for m in raw.get("modules", [])
            ),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ArtifactError(f"malformed: {exc}", where=where) from exc
