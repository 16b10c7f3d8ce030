"""check_search_body: the allow-list for client-supplied OpenSearch search bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.documents.query_guard import check_search_body
from chalicelib.errors import BadRequest

ALLOWED_QUERIES: dict[str, dict[str, Any]] = {
    "bool": {
        "bool": {
            "must": [{"match": {"name": "physical"}}],
            "should": {"term": {"objectType": "service"}},
            "filter": [{"range": {"copay": {"gte": 0, "lte": 50}}}],
            "must_not": {"exists": {"field": "retired"}},
            "minimum_should_match": 1,
            "boost": 1.5,
        }
    },
    "match": {"match": {"name": {"query": "yearly physical", "operator": "and"}}},
    "match_phrase": {"match_phrase": {"name": "Yearly physical"}},
    "multi_match": {"multi_match": {"query": "physical", "fields": ["name", "planType^2"]}},
    "term": {"term": {"_org": {"value": "example.com", "boost": 2}}},
    "terms": {"terms": {"objectType": ["plan", "service"], "boost": 1.0}},
    "range": {"range": {"deductible": {"gt": 100, "lt": 5000}}},
    "wildcard": {"wildcard": {"name": {"value": "year*"}}},
    "prefix": {"prefix": {"name": "year"}},
    "query_string": {"query_string": {"query": "*physical", "allow_leading_wildcard": True}},
    "exists": {"exists": {"field": "copay"}},
    "has_child": {
        "has_child": {
            "type": "planCostShares",
            "query": {"range": {"copay": {"lte": 25}}},
            "score_mode": "max",
            "min_children": 1,
            "max_children": 3,
            "inner_hits": {"size": 5, "_source": ["copay"], "name": "costs"},
        }
    },
    "has_parent": {"has_parent": {"parent_type": "plan", "query": {"term": {"planType": "inNetwork"}}, "score": True}},
    "parent_id": {"parent_id": {"type": "linkedPlanServices", "id": "12xvxc345ssdsds-508"}},
    "match_all": {"match_all": {}},
    "ids": {"ids": {"values": ["27283xvx9asdff-504"]}},
}


@pytest.mark.parametrize("query", ALLOWED_QUERIES.values(), ids=ALLOWED_QUERIES.keys())
def test_each_allowed_clause_passes_unchanged(query: dict[str, Any]) -> None:
    assert check_search_body({"query": query}) == {"query": query, "size": 10}


def test_nested_has_child_query_from_the_issue_passes() -> None:
    # Plans that have a planservice whose linked service matches a phrase.
    body = {
        "query": {
            "has_child": {
                "type": "linkedPlanServices",
                "query": {
                    "has_child": {
                        "type": "linkedService",
                        "query": {"match_phrase": {"name": "Yearly physical"}},
                    }
                },
            }
        }
    }
    assert check_search_body(body) == {**body, "size": 10}


def test_full_body_with_every_top_level_key_passes() -> None:
    body = {
        "query": {"match_all": {}},
        "size": 100,
        "from": 9900,
        "sort": ["_score", {"creationDate": {"order": "desc"}}, {"planType": "asc"}],
        "_source": {"includes": ["objectId", "name*"], "excludes": "_owner"},
        "track_total_hits": True,
        "aggs": {
            "by_type": {
                "terms": {"field": "objectType", "size": 1000, "order": {"_count": "desc"}, "min_doc_count": 1},
                "aggs": {"avg_copay": {"avg": {"field": "copay", "missing": 0}}},
            },
            "cheapest": {"min": {"field": "copay"}},
            "dearest": {"max": {"field": "copay"}},
            "total": {"sum": {"field": "deductible"}},
            "per_month": {
                "date_histogram": {
                    "field": "created",
                    "calendar_interval": "month",
                    "format": "yyyy-MM",
                    "min_doc_count": 0,
                    "time_zone": "UTC",
                    "extended_bounds": {"min": "2017-01", "max": "2017-12"},
                }
            },
        },
    }
    assert check_search_body(body) == body


@pytest.mark.parametrize("source", [False, "name", ["name", "copay"], {"includes": "name"}])
def test_source_filter_forms(source: Any) -> None:
    assert check_search_body({"_source": source})["_source"] == source


def test_aggregations_spelled_out_and_empty_body_get_default_size() -> None:
    aggs = {"types": {"terms": {"field": "objectType"}}}
    assert check_search_body({"aggregations": aggs, "size": 0}) == {"aggregations": aggs, "size": 0}
    assert check_search_body({}) == {"size": 10}


def test_sanitized_copy_shares_nothing_with_the_input() -> None:
    body = {"query": {"bool": {"must": [{"terms": {"objectType": ["plan"]}}]}}, "sort": [{"copay": "asc"}]}
    before = copy.deepcopy(body)
    checked = check_search_body(body)
    checked["query"]["bool"]["must"][0]["terms"]["objectType"].append("service")
    checked["sort"].append("name")
    assert body == before


def deep_bool(levels: int) -> dict[str, Any]:
    query: dict[str, Any] = {"match_all": {}}
    for _ in range(levels):
        query = {"bool": {"must": [query]}}
    return {"query": query}


REFUSED: list[tuple[str, Any, str]] = [
    (
        "script-clause",
        {"query": {"bool": {"must": [{"match_all": {}}, {"script": {"script": "1"}}]}}},
        "$.query.bool.must[1].script: 'script' is not allowed",
    ),
    (
        "script-inside-leaf",
        {"query": {"range": {"copay": {"gte": 1, "x": [{"script": "doc['a']"}]}}}},
        "$.query.range.copay.x[0].script: 'script' is not allowed",
    ),
    (
        "script-under-has-child",
        {"query": {"has_child": {"type": "t", "query": {"match": {"name": {"query": "x", "script": "1"}}}}}},
        "$.query.has_child.query.match.name.script: 'script' is not allowed",
    ),
    (
        "script-in-aggregation",
        {"aggs": {"a": {"terms": {"field": "f", "script": "1"}}}},
        "$.aggs.a.terms.script: 'script' is not allowed",
    ),
    ("script-sort", {"sort": [{"_script": {"type": "number"}}]}, "$.sort[0]._script: '_script' is not allowed"),
    ("script-fields", {"script_fields": {}}, "$.script_fields: 'script_fields' is not allowed"),
    ("unknown-top-level", {"post_filter": {"match_all": {}}}, "$.post_filter: 'post_filter' is not allowed"),
    (
        "unknown-clause",
        {"query": {"bool": {"should": {"more_like_this": {"like": "x"}}}}},
        "$.query.bool.should.more_like_this: 'more_like_this' is not allowed",
    ),
    ("two-clauses", {"query": {"match_all": {}, "exists": {"field": "a"}}}, "$.query: a query must hold exactly one"),
    ("empty-query", {"query": {}}, "$.query: a query must hold exactly one clause"),
    ("leaf-not-object", {"query": {"match": "text"}}, "$.query.match: must be an object"),
    (
        "unknown-agg",
        {"aggs": {"x": {"scripted_metric": {"map_script": "1"}}}},
        "$.aggs.x.scripted_metric: 'scripted_metric' is not allowed",
    ),
    (
        "unknown-sub-agg",
        {"aggs": {"t": {"terms": {"field": "f"}, "aggs": {"top": {"top_hits": {}}}}}},
        "$.aggs.t.aggs.top.top_hits: 'top_hits' is not allowed",
    ),
    ("global-agg", {"aggs": {"all": {"global": {}}}}, "$.aggs.all.global: 'global' is not allowed"),
    (
        "metric-with-sub-aggs",
        {"aggs": {"m": {"min": {"field": "copay"}, "aggs": {"t": {"terms": {"field": "f"}}}}}},
        "$.aggs.m.aggs: a 'min' aggregation has no buckets to aggregate further",
    ),
    ("agg-without-type", {"aggs": {"a": {"aggs": {}}}}, "$.aggs.a: an aggregation must have exactly one type"),
    (
        "agg-two-types",
        {"aggs": {"a": {"min": {"field": "f"}, "max": {"field": "f"}}}},
        "$.aggs.a: an aggregation must have exactly one type",
    ),
    ("agg-name-too-long", {"aggs": {"n" * 65: {"min": {"field": "f"}}}}, f"$.aggs.{'n' * 65}: an aggregation name"),
    (
        "terms-agg-size",
        {"aggs": {"a": {"terms": {"field": "f", "size": 1001}}}},
        "$.aggs.a.terms.size: must be an integer from 1 to 1000",
    ),
    ("agg-without-field", {"aggs": {"a": {"avg": {"missing": 0}}}}, "$.aggs.a.avg: 'field' is required"),
    (
        "both-agg-spellings",
        {"aggs": {"a": {"min": {"field": "f"}}}, "aggregations": {}},
        "$.aggregations: use either 'aggs' or 'aggregations'",
    ),
    (
        "terms-min-doc-count-zero",
        {"aggs": {"a": {"terms": {"field": "objectId", "min_doc_count": 0}}}},
        "$.aggs.a.terms.min_doc_count: must be an integer >= 1: 0 would list terms of documents that are not yours",
    ),
    ("size-over-max", {"size": 101}, "$.size: must be an integer from 0 to 100"),
    ("size-not-int", {"size": "10"}, "$.size: must be an integer from 0 to 100"),
    ("size-bool", {"size": True}, "$.size: must be an integer from 0 to 100"),
    ("negative-from", {"from": -1}, "$.from: must be an integer >= 0"),
    ("window", {"from": 9950, "size": 51}, "$.from: from + size must not exceed 10000"),
    ("window-default-size", {"from": 9991}, "$.from: from + size must not exceed 10000"),
    (
        "terms-lookup",
        {"query": {"terms": {"objectId": {"index": "users", "id": "1", "path": "ids"}}}},
        "$.query.terms.objectId: a terms lookup is not allowed",
    ),
    ("terms-scalar", {"query": {"terms": {"objectId": "x"}}}, "$.query.terms.objectId: must be a list of values"),
    ("deep-nesting", deep_bool(25), "$.query" + ".bool.must[0]" * 20 + ": nesting more than 20 queries"),
    (
        "inner-hits-size",
        {"query": {"has_child": {"type": "t", "query": {"match_all": {}}, "inner_hits": {"size": 101}}}},
        "$.query.has_child.inner_hits.size: must be an integer from 0 to 100",
    ),
    (
        "inner-hits-unknown",
        {"query": {"has_parent": {"parent_type": "plan", "query": {"match_all": {}}, "inner_hits": {"from": 5}}}},
        "$.query.has_parent.inner_hits.from: 'from' is not allowed",
    ),
    ("has-child-without-type", {"query": {"has_child": {"query": {"match_all": {}}}}}, "$.query.has_child: 'type'"),
    ("parent-id-unknown", {"query": {"parent_id": {"type": "t", "id": "1", "x": 1}}}, "$.query.parent_id.x: 'x' is"),
    (
        "score-mode",
        {"query": {"has_child": {"type": "t", "query": {"match_all": {}}, "score_mode": "x"}}},
        "$.query.has_child.score_mode: must be one of 'none', 'avg', 'sum', 'max', 'min'",
    ),
    ("sort-order", {"sort": {"copay": "up"}}, "$.sort.copay: must be one of 'asc', 'desc'"),
    ("sort-option", {"sort": [{"copay": {"mode": "avg"}}]}, "$.sort[0].copay.mode: 'mode' is not allowed"),
    ("source-legacy-key", {"_source": {"include": ["a"]}}, "$._source.include: 'include' is not allowed"),
    ("track-total-hits", {"track_total_hits": 1000}, "$.track_total_hits: must be true or false"),
    ("not-an-object", [], "$: must be an object"),
]


@pytest.mark.parametrize(("body", "detail"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_refused_parts_are_named_with_their_path(body: Any, detail: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_search_body(body)
    assert caught.value.detail.startswith(detail)


def test_depth_limit_admits_twenty_nested_queries_and_names_the_first_deeper_one() -> None:
    assert check_search_body(deep_bool(19))  # 19 bools around a match_all: 20 queries
    with pytest.raises(BadRequest) as caught:
        check_search_body(deep_bool(20))
    assert (
        caught.value.detail
        == "$.query" + ".bool.must[0]" * 20 + ": nesting more than 20 queries or aggregations is not allowed"
    )


def test_depth_limit_applies_to_nested_aggregations() -> None:
    aggs: dict[str, Any] = {"leaf": {"min": {"field": "copay"}}}
    for level in range(20):
        aggs = {f"l{level}": {"terms": {"field": "objectType"}, "aggs": aggs}}
    assert check_search_body({"aggs": aggs["l19"]["aggs"]})
    with pytest.raises(BadRequest, match=r"\.leaf: nesting more than 20 queries or aggregations is not allowed$"):
        check_search_body({"aggs": aggs})


def test_deeply_nested_json_inside_a_leaf_is_refused_before_any_recursion() -> None:
    values: Any = "x"
    for _ in range(5000):
        values = [values]
    with pytest.raises(
        BadRequest, match=r"^\$\.query\.terms\.f(\[0\]){97}: nesting deeper than 100 levels is not allowed$"
    ):
        check_search_body({"query": {"terms": {"f": values}}})


def test_max_size_is_configurable() -> None:
    assert check_search_body({"size": 500}, max_size=500)["size"] == 500
    with pytest.raises(BadRequest, match=r"^\$\.size: must be an integer from 0 to 5$"):
        check_search_body({"size": 6}, max_size=5)
