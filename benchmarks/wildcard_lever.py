"""Lever: the `wildcard` field type vs `keyword` for Sigma's leading-wildcard `contains` on command lines and paths.

Run after `python benchmarks/detect.py --keep` (it reads the stored Windows events): copies them into two
scratch indices that differ only in the type of `process.command_line`, `process.executable`, `file.path`
and `registry.path`, then times the same case-insensitive DSL `wildcard` queries (`*value*`, the values
SigmaHQ's rules look for on those fields, as `ecs_windows` compiles them) on each. Prints one JSON object;
deletes the scratch indices.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import namespace  # noqa: F401  (first: the index namespace)
from opensearchpy import helpers

from dagster_project.client import client_from_env
from dagster_project.storage import naming

FIELDS = ("process.command_line", "process.executable", "file.path", "registry.path")
RULES = Path(__file__).resolve().parents[2] / "shared" / "data" / "sigma" / "sigmahq" / "rules" / "windows"
_CONTAINS = re.compile(r"\|contains(?:\|all)?:\s*\n((?:\s+- .+\n)+)|\|contains(?:\|all)?: (.+)\n")


def sigma_values(limit: int) -> list[str]:
    """Distinct `contains` values of SigmaHQ's Windows process-creation rules, in file order."""
    values: list[str] = []
    for path in sorted((RULES / "process_creation").glob("*.yml")):
        for block, single in _CONTAINS.findall(path.read_text(encoding="utf-8")):
            items = [line.strip()[2:].strip("'\"") for line in block.splitlines() if line.strip()] or [single]
            values += [v.strip("'\"") for v in items if v]
        if len(set(values)) >= limit:
            break
    return list(dict.fromkeys(values))[:limit]


def _retyped(mapping: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(mapping)
    for dotted in FIELDS:
        node = result
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node["properties"][part]
        node["properties"][parts[-1]] = {"type": "wildcard"}
    return result


def _wildcard(field: str, value: str) -> dict[str, Any]:
    escaped = value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return {"wildcard": {field: {"value": f"*{escaped}*", "case_insensitive": True}}}


def main() -> None:
    """Copy the events into keyword and wildcard indices, time the same queries on each."""
    client = client_from_env()
    source = naming.events_pattern("windows")
    mapping = next(iter(client.indices.get_mapping(index=source).values()))["mappings"]
    indices = {"keyword": naming.name("lever-keyword"), "wildcard": naming.name("lever-wildcard")}
    bodies = {"keyword": mapping, "wildcard": _retyped(mapping)}
    for kind, index in indices.items():
        client.indices.delete(index=index, ignore_unavailable=True)
        client.indices.create(index=index, body={"settings": {"number_of_replicas": 0}, "mappings": bodies[kind]})
    # The minimal distribution has no reindex module: copy through the client, one read for both indices.
    copies = (
        {"_index": index, "_id": hit["_id"], "_source": hit["_source"]}
        for hit in helpers.scan(client, index=source, size=2000)
        for index in indices.values()
    )
    helpers.bulk(client, copies, chunk_size=2000, request_timeout=600)
    client.indices.forcemerge(index=",".join(indices.values()), max_num_segments=1, request_timeout=3600)
    client.indices.refresh(index=",".join(indices.values()))
    values = sigma_values(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    result: dict[str, Any] = {"events": client.count(index=indices["keyword"])["count"], "queries": len(values)}
    matched: dict[str, list[int]] = {}
    for kind, index in indices.items():
        client.indices.clear_cache(index=index, request=True, query=True)
        started = time.perf_counter()
        matched[kind] = []
        for value in values:
            query = {"bool": {"should": [_wildcard(f, value) for f in FIELDS], "minimum_should_match": 1}}
            body = {"size": 0, "track_total_hits": True, "query": query}
            matched[kind].append(client.search(index=index, body=body, request_cache=False)["hits"]["total"]["value"])
        result[f"{kind}_seconds"] = round(time.perf_counter() - started, 2)
        stats = client.indices.stats(index=index, metric="store")["indices"][index]["primaries"]["store"]
        result[f"{kind}_store_mb"] = round(stats["size_in_bytes"] / 2**20, 1)
    result["same_matches"] = matched["keyword"] == matched["wildcard"]
    result["matching_queries"] = sum(1 for n in matched["keyword"] if n)
    client.indices.delete(index=",".join(indices.values()), ignore_unavailable=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
