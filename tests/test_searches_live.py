"""The suite's one scroll and its whole searches, against the real node: every page is checked for failed shards.

The failing shard is made, not simulated: under one pattern, a wildcard on a field that one index maps as a
number fails on that index's shard only, and the node answers 200 with `_shards.failed: 1`.
"""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch, helpers

from dagster_project import searches
from dagster_project.retries import IncompleteSearch, ShardRetry

pytestmark = pytest.mark.live

NO_PAUSE = ShardRetry(retries=1, initial_backoff=0.0, max_backoff=0.0)


def _open_scrolls(client: OpenSearch) -> int:
    stats = client.nodes.stats(metric="indices", index_metric="search")
    return sum(node["indices"]["search"]["scroll_current"] for node in stats["nodes"].values())


def test_a_hit_less_answer_with_a_failed_shard_raises_where_helpers_scan_ends_quietly(
    opensearch_client: OpenSearch, one_shard_fails: str
) -> None:
    body = {"query": {"wildcard": {"x": "*benign*"}}}
    assert list(helpers.scan(opensearch_client, query=body, index=one_shard_fails)) == []
    with pytest.raises(IncompleteSearch, match=r"^benign search: 1 of 2 shards failed \(.*-b\[0\]"):
        list(searches.scroll(opensearch_client, index=one_shard_fails, body=body, where="benign search"))


def test_a_page_with_hits_and_a_failed_shard_raises_too(opensearch_client: OpenSearch, one_shard_fails: str) -> None:
    body = {"query": {"wildcard": {"x": "*evil*"}}}
    with pytest.raises(IncompleteSearch, match="1 of 2 shards failed"):
        list(searches.scroll(opensearch_client, index=one_shard_fails, body=body, where="evil search"))


def test_search_asks_again_then_names_where_it_stayed_incomplete(
    opensearch_client: OpenSearch, one_shard_fails: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dagster_project.retries.SHARD_RETRY", NO_PAUSE)
    body = {"size": 0, "query": {"wildcard": {"x": "*evil*"}}}
    with pytest.raises(IncompleteSearch, match=r"^arrival stamps: 1 of 2 shards failed"):
        searches.search(opensearch_client, "arrival stamps", index=one_shard_fails, body=body)
    with pytest.raises(IncompleteSearch):
        searches.collect(opensearch_client, index=one_shard_fails, body=body, where="collected")
    whole = searches.search(opensearch_client, "whole", index=one_shard_fails, body={"query": {"match_all": {}}})
    assert whole["hits"]["total"]["value"] == 2


def test_every_page_in_the_body_order_and_the_scroll_cleared(opensearch_client: OpenSearch, unique_index: str) -> None:
    opensearch_client.indices.create(index=unique_index, body={"settings": {"number_of_shards": 2}})
    for n in range(7):
        opensearch_client.index(index=unique_index, id=str(n), body={"n": n})
    opensearch_client.indices.refresh(index=unique_index)
    before = _open_scrolls(opensearch_client)
    body = {"query": {"range": {"n": {"gte": 1}}}, "sort": [{"n": "desc"}]}
    hits = list(searches.scroll(opensearch_client, index=unique_index, body=body, where="pages", size=2))
    assert [hit["_source"]["n"] for hit in hits] == [6, 5, 4, 3, 2, 1]
    unsorted = searches.collect(opensearch_client, index=unique_index, body={"query": {"match_all": {}}}, where="all")
    assert sorted(hit["_id"] for hit in unsorted) == [str(n) for n in range(7)]
    assert _open_scrolls(opensearch_client) == before

    # Stopped part way, the scroll is cleared as well.
    stream = searches.scroll(opensearch_client, index=unique_index, body=body, where="pages", size=2)
    assert next(stream)["_source"]["n"] == 6
    assert _open_scrolls(opensearch_client) > before
    stream.close()
    assert _open_scrolls(opensearch_client) == before
