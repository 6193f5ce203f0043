"""Loads the saved objects in `dashboards/*.ndjson` (the Dashboards export format, written by hand)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_project.errors import ArtifactError
from dagster_project.paths import repo_dir
from dagster_project.storage import naming

TYPES = ("index-pattern", "search", "visualization", "dashboard")
"""The saved object types the suite ships, in the order they depend on each other."""
JSON_ATTRIBUTES = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON")
"""Attributes that Dashboards stores as JSON text inside the JSON object."""


@dataclass(frozen=True)
class Reference:
    """A named link from one saved object to another (`type`, `id`)."""

    name: str
    type: str
    id: str


@dataclass(frozen=True)
class SavedObject:
    """One line of an ndjson file: type, id, attributes and references, and where it was read."""

    type: str
    id: str
    attributes: dict[str, Any]
    references: tuple[Reference, ...]
    body: dict[str, Any]
    """The whole line as parsed (what is uploaded)."""
    path: Path
    line: int

    @property
    def where(self) -> str:
        """`file:line`, as errors about this object report it."""
        return f"{self.path}:{self.line}"

    @property
    def title(self) -> str:
        """The object's title."""
        return str(self.attributes.get("title", ""))

    def reference(self, name: str) -> Reference:
        """The reference called `name`; ArtifactError when there is none."""
        for reference in self.references:
            if reference.name == name:
                return reference
        raise ArtifactError(f"{self.type} {self.id!r} has no reference named {name!r}", where=self.where)

    def json_attribute(self, name: str) -> Any:
        """An attribute stored as JSON text (`visState`, `panelsJSON`, ...), parsed."""
        return self._parse(self.attributes.get(name), name)

    @property
    def search_source(self) -> dict[str, Any]:
        """`kibanaSavedObjectMeta.searchSourceJSON`, parsed ({} when absent)."""
        meta = self.attributes.get("kibanaSavedObjectMeta", {})
        text = meta.get("searchSourceJSON") if isinstance(meta, dict) else None
        if text is None:
            return {}
        parsed = self._parse(text, "kibanaSavedObjectMeta.searchSourceJSON")
        if not isinstance(parsed, dict):
            raise ArtifactError("searchSourceJSON is not an object", where=self.where)
        return parsed

    def _parse(self, text: Any, name: str) -> Any:
        if not isinstance(text, str):
            raise ArtifactError(f"{self.type} {self.id!r}: {name} must be a JSON string", where=self.where)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ArtifactError(f"{self.type} {self.id!r}: {name} is not valid JSON: {exc}", where=self.where) from exc


def dashboards_dir() -> Path:
    """The `dashboards/` folder (the only copy of the saved objects)."""
    return repo_dir("dashboards")


def parse_line(text: str, path: Path, line: int) -> SavedObject:
    """One ndjson line as a SavedObject; ArtifactError naming the file and line when it is malformed."""
    where = f"{path}:{line}"
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"invalid JSON: {exc}", where=where) from exc
    if not isinstance(body, dict):
        raise ArtifactError("a saved object must be a JSON object", where=where)
    kind, identifier, attributes = body.get("type"), body.get("id"), body.get("attributes")
    if kind not in TYPES:
        raise ArtifactError(f"type {kind!r} is not one of {', '.join(TYPES)}", where=where)
    if not isinstance(identifier, str) or not identifier:
        raise ArtifactError("missing id", where=where)
    if not isinstance(attributes, dict):
        raise ArtifactError(f"{kind} {identifier!r} has no attributes object", where=where)
    references = body.get("references", [])
    if not isinstance(references, list) or not all(
        isinstance(r, dict) and {"name", "type", "id"} <= set(r) for r in references
    ):
        raise ArtifactError(f"{kind} {identifier!r}: references must be a list of {{name, type, id}}", where=where)
    body = in_namespace(body)
    identifier, attributes, references = body["id"], body["attributes"], body.get("references", [])
    return SavedObject(
        type=kind,
        id=identifier,
        attributes=attributes,
        references=tuple(Reference(str(r["name"]), str(r["type"]), str(r["id"])) for r in references),
        body=body,
        path=path,
        line=line,
    )


def in_namespace(body: dict[str, Any]) -> dict[str, Any]:
    """A saved object in the current index namespace (see `storage.naming`): its id, the ids it references
    and an index pattern's title; under the default prefix the object is returned as it is."""
    if naming.is_default():
        return body
    body = copy.deepcopy(body)
    body["id"] = naming.in_namespace(body["id"])
    for reference in body.get("references", []):
        reference["id"] = naming.in_namespace(reference["id"])
    if body.get("type") == "index-pattern" and isinstance(body["attributes"].get("title"), str):
        body["attributes"]["title"] = naming.in_namespace(body["attributes"]["title"])
    return body


def load_saved_objects(root: Path | None = None) -> list[SavedObject]:
    """Every saved object of every `*.ndjson` under `root` (default `dashboards/`), files sorted by name."""
    folder = root or dashboards_dir()
    objects: list[SavedObject] = []
    for path in sorted(folder.glob("*.ndjson")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                raise ArtifactError("blank line (ndjson has one object per line)", where=f"{path}:{number}")
            objects.append(parse_line(text, path, number))
    if not objects:
        raise ArtifactError("no saved objects found", where=str(folder))
    return objects


def by_id(objects: list[SavedObject]) -> dict[tuple[str, str], SavedObject]:
    """Objects keyed by (type, id)."""
    return {(o.type, o.id): o for o in objects}


def ndjson_payload(objects: list[SavedObject]) -> bytes:
    """The objects as one ndjson document, in dependency order (what the import API receives)."""
    ordered = sorted(objects, key=lambda o: TYPES.index(o.type))
    return b"".join(json.dumps(o.body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for o in ordered)
