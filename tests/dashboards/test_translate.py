"""Golden tests: a saved object in, the exact `_search` request Dashboards would send out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dagster_project.dashboards.objects import SavedObject, load_saved_objects, parse_line
from dagster_project.dashboards.translate import aggregations, lucene, search_request, unanswered
from dagster_project.errors import ArtifactError
from tests.namespace import users_namespace

pytestmark = pytest.mark.usefixtures("default_namespace")

with users_namespace():
    OBJECTS = load_saved_objects()
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC)
RANGE = {
    "gte": "2024-01-01T00:00:00+00:00",
    "lte": "2024-01-08T00:00:00+00:00",
    "format": "strict_date_optional_time",
}


def _object(object_id: str) -> SavedObject:
    return next(o for o in OBJECTS if o.id == object_id)


def _qs(text: str) -> dict[str, Any]:
    return {"query_string": {"query": text, "analyze_wildcard": True}}


def test_status_codes_over_time() -> None:
    request = search_request(_object("siem-vis-web-status-codes-over-time"), OBJECTS, START, END)
    assert (request.index, request.time_field) == ("siem-events-web-access-*", "@timestamp")
    classes = {f"{n}xx": {"bool": {"must": [_qs(f"http.response.status_code:[{n}00 TO {n}99]")]}} for n in (2, 3, 4, 5)}
    assert request.body == {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"must": [{"match_all": {}}], "filter": [{"range": {"@timestamp": RANGE}}]}},
        "aggs": {
            "2": {
                "date_histogram": {
                    "field": "@timestamp",
                    "fixed_interval": "12h",
                    "time_zone": "UTC",
                    "min_doc_count": 1,
                },
                "aggs": {"3": {"filters": {"filters": classes}}},
            }
        },
    }


def test_brute_force_suspects() -> None:
    request = search_request(_object("siem-vis-auth-brute-force-suspects"), OBJECTS, START, END)
    assert request.index == "siem-findings"
    assert request.body["query"]["bool"]["must"] == [_qs("rule.tags:attack.t1110*")]
    assert request.body["aggs"] == {
        "2": {
            "terms": {"field": "source.ip", "size": 20, "order": {"_count": "desc"}},
            "aggs": {
                "3": {
                    "terms": {"field": "rule.title", "size": 5, "order": {"_count": "desc"}},
                    "aggs": {
                        "4": {"sum": {"field": "finding.event_count"}},
                        "5": {"max": {"field": "@timestamp"}},
                    },
                }
            },
        }
    }


def test_ingest_volume_uses_arrival_time_and_a_calendar_day() -> None:
    request = search_request(_object("siem-vis-pipeline-ingest-volume"), OBJECTS, START, END)
    assert (request.index, request.time_field) == ("siem-events", "event.ingested")
    assert request.body["query"]["bool"]["filter"] == [{"range": {"event.ingested": RANGE}}]
    assert request.body["aggs"]["2"]["date_histogram"] == {
        "field": "event.ingested",
        "calendar_interval": "1d",
        "time_zone": "UTC",
        "min_doc_count": 1,
    }
    assert request.body["aggs"]["2"]["aggs"] == {
        "3": {"terms": {"field": "siem.source", "size": 10, "order": {"_count": "desc"}}}
    }


def test_a_saved_search() -> None:
    request = search_request(_object("siem-search-failed-authentications"), OBJECTS, START, END, size=25)
    assert request.index == "siem-events-*"
    assert request.body == {
        "size": 25,
        "track_total_hits": True,
        "query": {
            "bool": {
                "must": [_qs("event.category:authentication AND event.outcome:failure")],
                "filter": [{"range": {"@timestamp": RANGE}}],
            }
        },
        "sort": [{"@timestamp": {"order": "desc"}}],
    }


def _vis(
    state: dict[str, Any], source: dict[str, Any], references: list[dict[str, str]], **attributes: Any
) -> SavedObject:
    body = {
        "type": "visualization",
        "id": "siem-vis-test",
        "attributes": {
            "title": state["title"],
            "visState": json.dumps(state),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
            **attributes,
        },
        "references": references,
    }
    return parse_line(json.dumps(body), Path("test.ndjson"), 1)


def test_a_visualisation_of_a_saved_search_ordered_by_a_metric() -> None:
    state = {
        "title": "t",
        "type": "table",
        "params": {},
        "aggs": [
            {"id": "1", "type": "count", "schema": "metric", "params": {}},
            {"id": "2", "type": "cardinality", "schema": "metric", "params": {"field": "source.ip"}},
            {
                "id": "3",
                "type": "terms",
                "schema": "bucket",
                "params": {"field": "user.name", "orderBy": "2", "size": 3},
            },
            {
                "id": "4",
                "type": "terms",
                "schema": "bucket",
                "params": {"field": "host.name", "orderBy": "_key", "order": "asc"},
            },
            {"id": "5", "enabled": False, "type": "avg", "schema": "metric", "params": {"field": "x"}},
        ],
    }
    vis = _vis(
        state,
        {"query": {"query": "host.name:web*", "language": "lucene"}, "filter": []},
        [{"name": "search_0", "type": "search", "id": "siem-search-failed-authentications"}],
        savedSearchRefName="search_0",
    )
    request = search_request(vis, [*OBJECTS, vis], START, END)
    assert request.index == "siem-events-*"
    assert request.body["query"]["bool"]["must"] == [
        _qs("event.category:authentication AND event.outcome:failure"),
        _qs("host.name:web*"),
    ]
    assert request.body["aggs"] == {
        "3": {
            "terms": {"field": "user.name", "size": 3, "order": {"2": "desc"}},
            "aggs": {
                "2": {"cardinality": {"field": "source.ip"}},
                "4": {
                    "terms": {"field": "host.name", "size": 5, "order": {"_key": "asc"}},
                    "aggs": {"2": {"cardinality": {"field": "source.ip"}}},
                },
            },
        }
    }


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("auto", {"fixed_interval": "12h"}),
        ("h", {"calendar_interval": "1h"}),
        ("12h", {"fixed_interval": "12h"}),
        ("w", {"calendar_interval": "1w"}),
        ("M", {"calendar_interval": "1M"}),
        ("30m", {"fixed_interval": "30m"}),
    ],
)
def test_date_intervals(interval: str, expected: dict[str, str]) -> None:
    state = {
        "aggs": [
            {"id": "1", "type": "count"},
            {"id": "2", "type": "date_histogram", "params": {"interval": interval}},
        ]
    }
    histogram = aggregations(state, "here", START, END)["2"]["date_histogram"]
    assert {k: v for k, v in histogram.items() if k.endswith("interval")} == expected


def test_auto_interval_over_thirty_years_is_a_year() -> None:
    state = {"aggs": [{"id": "2", "type": "date_histogram", "params": {"interval": "auto"}}]}
    long = aggregations(state, "here", datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert long["2"]["date_histogram"]["calendar_interval"] == "1y"


@pytest.mark.parametrize(
    ("agg", "message"),
    [
        ({"id": "2", "type": "date_histogram", "params": {"interval": "2w"}}, "multiples of calendar units"),
        (
            {"id": "2", "type": "terms", "params": {"field": "a", "include": "x.*"}},
            "untranslated parameters ['include']",
        ),
        (
            {"id": "2", "type": "terms", "params": {"field": "a", "json": '{"shard_size": 1}'}},
            "raw JSON input",
        ),
        ({"id": "2", "type": "top_hits", "params": {}}, "'top_hits' is not translated"),
    ],
)
def test_what_is_not_translated_is_refused(agg: dict[str, Any], message: str) -> None:
    with pytest.raises(ArtifactError, match=re.escape(message)):
        aggregations({"aggs": [{"id": "1", "type": "count"}, agg]}, "here", START, END)


def test_queries() -> None:
    assert lucene({"query": "  ", "language": "kuery"}, "here") == {"match_all": {}}
    assert lucene("a:b", "here") == _qs("a:b")
    with pytest.raises(ArtifactError, match="only lucene"):
        lucene({"query": "a: b", "language": "kuery"}, "here")


def test_unanswered_names_the_aggregations_that_found_nothing() -> None:
    state = json.loads(_object("siem-vis-auth-brute-force-suspects").attributes["visState"])
    response = {
        "hits": {"total": {"value": 2}},
        "aggregations": {
            "2": {
                "buckets": [
                    {
                        "key": "10.0.0.1",
                        "doc_count": 2,
                        "3": {"buckets": [{"key": "r", "doc_count": 2, "4": {"value": 12.0}, "5": {"value": None}}]},
                    }
                ]
            }
        },
    }
    assert unanswered(state, response) == ["5 (max @timestamp)"]
    assert unanswered(state, {"hits": {"total": {"value": 0}}, "aggregations": {"2": {"buckets": []}}}) == [
        "1 (count)",
        "2 (terms source.ip)",
        "3 (terms rule.title)",
        "4 (sum finding.event_count)",
        "5 (max @timestamp)",
    ]
