"""Every rule against its examples on the real node: exactly the `match` examples are found.

Each rule gets a fresh index created with the merged component templates of the index template that
covers the rule's index pattern, so the examples are mapped exactly as production events are.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from opensearchpy import OpenSearch, helpers

from dagster_project.detection.compile import CompiledRule, compile_rule
from dagster_project.detection.examples import Example, load_examples
from dagster_project.detection.results import correlation_alerts, hit_ids
from dagster_project.detection.rules import Rule, load_rules
from dagster_project.sources.base import get_path
from dagster_project.storage.artifacts import component_template, load_artifacts, merged_mappings

pytestmark = pytest.mark.live

RULES = load_rules()


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _index_body(index_pattern: str) -> dict[str, Any]:
    """Settings and mappings that the suite's templates give an index matching `index_pattern`."""
    for template in load_artifacts("index_template"):
        if index_pattern in template.body.get("index_patterns", []):
            names = template.body["composed_of"]
            settings: dict[str, Any] = {}
            for name in names:
                _merge(settings, component_template(name).body.get("template", {}).get("settings", {}))
            return {"settings": settings, "mappings": merged_mappings(names)}
    raise AssertionError(f"no index template covers {index_pattern}")


def _doc_id(example: Example, number: int) -> str:
    return f"{example.label}#{number}"


def _group_of(example: Example, group_by: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    first = example.documents[0]
    return tuple((field, str(get_path(first, field))) for field in group_by)


def _found(client: OpenSearch, index: str, compiled: CompiledRule, examples: tuple[Example, ...]) -> set[str]:
    """Labels of the examples the compiled rule finds."""
    body = compiled.body()
    if compiled.correlation is None:
        body["size"] = 1000
        response = client.search(index=index, body=body)
        return {doc_id.split("#")[0] for doc_id in hit_ids(response)}
    response = client.search(index=index, body=body)
    groups = {
        tuple((field, str(value)) for field, value in alert.group) for alert in correlation_alerts(compiled, response)
    }
    return {example.label for example in examples if _group_of(example, compiled.correlation.group_by) in groups}


@pytest.mark.parametrize("rule", RULES, ids=[rule.path.stem for rule in RULES])
def test_rule_finds_exactly_its_match_examples(rule: Rule, opensearch_client: OpenSearch, unique_index: str) -> None:
    """Index every example of the rule, refresh, run the compiled rule: only `match` examples hit."""
    compiled = compile_rule(rule)
    examples = load_examples(rule)
    opensearch_client.indices.create(index=unique_index, body=_index_body(compiled.index))
    actions = [
        {"_index": unique_index, "_id": _doc_id(example, number), "_source": document}
        for example in examples.all
        for number, document in enumerate(example.documents)
    ]
    helpers.bulk(opensearch_client, actions)
    opensearch_client.indices.refresh(index=unique_index)

    found = _found(opensearch_client, unique_index, compiled, examples.all)

    assert found == {example.label for example in examples.match}
