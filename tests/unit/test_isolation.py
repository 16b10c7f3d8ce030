"""isolate / client_view: a checked search body made blind to other owners' documents."""

from __future__ import annotations

import copy

from chalicelib.documents.isolation import client_view, isolate
from chalicelib.documents.query_guard import check_search_body

OWNER = {"term": {"_owner": "u-1"}}
TIEBREAK = [{"_root": "asc"}, {"objectId": "asc"}]


def test_the_query_runs_in_filter_context_beside_the_owner_filter() -> None:
    body = check_search_body({"query": {"match": {"name": "physical"}}, "sort": ["copay"]})
    before = copy.deepcopy(body)
    assert isolate(body, "u-1") == {
        "query": {"bool": {"filter": [{"match": {"name": "physical"}}, OWNER]}},
        "sort": ["copay", *TIEBREAK],
        "size": 10,
        "docvalue_fields": ["objectId", "_root"],
    }
    assert body == before


def test_without_a_query_the_owner_filter_applies_to_match_all() -> None:
    assert isolate(check_search_body({}), "u-1")["query"] == {"bool": {"filter": [{"match_all": {}}, OWNER]}}


def test_an_administrator_without_an_owner_is_not_filtered_but_still_unscored() -> None:
    assert isolate(check_search_body({"query": {"term": {"a": 1}}}), None)["query"] == {
        "bool": {"filter": [{"term": {"a": 1}}]}
    }


def test_ids_and_parent_id_name_object_ids() -> None:
    body = check_search_body(
        {
            "query": {
                "bool": {
                    "must": [{"ids": {"values": ["s1"]}}],
                    "should": {"parent_id": {"type": "linkedService", "id": "ps1"}},
                }
            }
        }
    )
    query = isolate(body, "u-1")["query"]["bool"]["filter"][0]
    assert query == {
        "bool": {
            "must": [{"terms": {"objectId": ["s1"]}}],
            "should": {
                "bool": {
                    "filter": [
                        {"term": {"relation": "linkedService"}},
                        {"has_parent": {"parent_type": "linkedPlanServices", "query": {"term": {"objectId": "ps1"}}}},
                    ]
                }
            },
        }
    }


def test_multi_term_queries_expand_to_every_matching_term() -> None:
    body = check_search_body(
        {
            "query": {
                "has_child": {
                    "type": "linkedService",
                    "query": {
                        "bool": {
                            "should": [
                                {"match": {"name": {"query": "yerly", "fuzziness": "AUTO"}}},
                                {"wildcard": {"name": "year*"}},
                                {"prefix": {"name": {"value": "ye", "rewrite": "top_terms_1"}}},
                                {"query_string": {"query": "yerly~"}},
                                {"match": {"name": "plain"}},
                            ]
                        }
                    },
                }
            }
        }
    )
    should = isolate(body, "u-1")["query"]["bool"]["filter"][0]["has_child"]["query"]["bool"]["should"]
    assert should == [
        {"match": {"name": {"query": "yerly", "fuzziness": "AUTO", "fuzzy_rewrite": "constant_score"}}},
        {"wildcard": {"name": {"value": "year*", "rewrite": "constant_score"}}},
        {"prefix": {"name": {"value": "ye", "rewrite": "constant_score"}}},
        {"query_string": {"query": "yerly~", "rewrite": "constant_score", "fuzzy_rewrite": "constant_score"}},
        {"match": {"name": "plain"}},
    ]


def test_sorting_by_id_sorts_by_object_id() -> None:
    assert isolate(check_search_body({"sort": ["_id", {"_id": "desc"}]}), "u-1")["sort"] == [
        "objectId",
        {"objectId": "desc"},
        *TIEBREAK,
    ]


def test_answers_name_object_ids_and_hide_the_platforms_fields() -> None:
    answer = {
        "hits": {
            "hits": [
                {
                    "_id": "digest",
                    "_routing": "root-digest",
                    "_score": 0.0,
                    "sort": [5, "p1", "s1"],
                    "fields": {"objectId": ["s1"], "_root": ["p1"]},
                    "_source": {
                        "objectId": "s1",
                        "relation": {"name": "linkedService", "parent": "parent-digest"},
                        "_owner": "u-1",
                        "_root": "p1",
                        "_updated": 1,
                        "_parent_object": "ps1",
                    },
                }
            ]
        }
    }
    (hit,) = client_view(copy.deepcopy(answer), client_sorted=True)["hits"]["hits"]
    assert hit == {
        "_id": "s1",
        "_routing": "p1",
        "_score": 0.0,
        "sort": [5],
        "_source": {"objectId": "s1", "relation": {"name": "linkedService", "parent": "ps1"}},
    }
    (unsorted,) = client_view(copy.deepcopy(answer), client_sorted=False)["hits"]["hits"]
    assert "sort" not in unsorted
