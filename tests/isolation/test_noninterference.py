"""Noninterference, the proof of tenant isolation: every answer user B gets is the same whether
or not user A's overlapping data exist.

Hypothesis draws requests for every surface that searches owned data (document search on two
types, full-text plan search, log search, dashboard data, alert evaluation) and sends each to
both worlds of tests/isolation/conftest.py. Search bodies are drawn from the query guard's own
allow-list (tests/isolation/strategies.py reads chalicelib/documents/query_guard.py), so a
clause or parameter added to the allow-list is drawn here too.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.documents import query_guard
from tests.isolation import data, strategies
from tests.isolation.conftest import World
from tests.support.stack import wait_for

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _answer(world: World, response: requests.Response, volatile: tuple[str, ...] = ()) -> tuple[int, Any]:
    """Status and body, with what must differ between worlds taken out: B's user id (each world
    registered its own B), `took`, and the named volatile members wherever they occur."""
    text = response.text.replace(world.b_id, "<B>")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    return response.status_code, _without(body, ("took", "request_id", *volatile))


def _without(value: Any, names: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def assert_same(worlds: tuple[World, World], method: str, path: str, volatile: tuple[str, ...] = (), **kwargs):
    alone, beside = worlds
    expected = _answer(alone, alone.as_b(method, path, **kwargs), volatile)
    actual = _answer(beside, beside.as_b(method, path, **kwargs), volatile)
    assert actual == expected, f"{method} {path} {kwargs}: B's answer changed when A's data exist"
    assert expected[0] < 500, expected


def test_the_strategies_draw_every_clause_aggregation_and_member_the_guard_admits():
    fields, values = strategies.PLAN_FIELDS, strategies.PLAN_VALUES
    leaves, compounds = strategies._leaves(fields, values), strategies._compounds(st.nothing(), values, True)
    assert set(leaves) | set(compounds) == set(query_guard.CLAUSES)
    for kind in query_guard.AGGREGATIONS:
        strategies.aggregation(kind, fields, values)  # raises for a parameter it cannot draw
    assert set(strategies.top_level(fields, values, relations=True)) == set(query_guard.TOP_LEVEL)


# The leaks found before the fix, always among the bodies tried, whatever the draw: terms
# listed with a count of 0 from every document of the index, and scores whose IDF counts
# another owner's documents.
def _known_leaks(terms_field: str, text_field: str, text: str) -> list[dict[str, Any]]:
    return [
        {"size": 0, "aggs": {"x": {"terms": {"field": terms_field, "size": 1000, "min_doc_count": 0}}}},
        {"query": {"match": {text_field: text}}, "sort": ["_score"], "size": 20},
    ]


def _with_examples(bodies: list[dict[str, Any]]) -> Any:
    def decorate(test: Any) -> Any:
        for body in bodies:
            test = example(body=body)(test)
        return test

    return decorate


@SETTINGS
@given(body=strategies.search_bodies(strategies.PLAN_FIELDS, strategies.PLAN_VALUES, relations=True))
@_with_examples(_known_leaks("objectId", "name", "well baby"))
def test_plan_search_bodies(worlds, body):
    assert_same(worlds, "POST", "/api/v1/search", json=body)


@SETTINGS
@given(body=strategies.search_bodies(strategies.PERSON_FIELDS, strategies.PERSON_VALUES, relations=False))
@_with_examples(_known_leaks("ssn.keyword", "name", "ada north"))
def test_registered_type_search_bodies(worlds, body):
    assert_same(worlds, "POST", f"/api/v1/search?type={data.PERSON_TYPE}", json=body)


@SETTINGS
@given(q=strategies.plan_text_queries(), org=st.sampled_from([None, "example.com", "rival.example"]))
def test_full_text_plan_search(worlds, q, org):
    params = {"q": q, **({"org": org} if org else {})}
    assert_same(worlds, "GET", "/api/v1/plans/search", params=params)


@SETTINGS
@given(params=strategies.log_search_params())
def test_log_search(worlds, params):
    # Event ids are minted per world; a cursor encodes one. Neither is B's data.
    assert_same(worlds, "GET", "/api/v1/logs/search", volatile=("id", "ingested_at", "next"), params=params)


@settings(SETTINGS, max_examples=30)
@given(widgets=strategies.dashboard_widgets())
def test_dashboard_data(worlds, widgets):
    ids = []
    for world in worlds:
        created = world.as_b("POST", "/api/v1/dashboards/", json={"name": "probe", "widgets": widgets})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    window = strategies.log_window()
    answers = [
        _answer(world, world.as_b("GET", f"/api/v1/dashboards/{dashboard_id}/data", params=window), ("id",))
        for world, dashboard_id in zip(worlds, ids, strict=True)
    ]
    assert answers[1] == answers[0]
    for world, dashboard_id in zip(worlds, ids, strict=True):
        assert world.as_b("DELETE", f"/api/v1/dashboards/{dashboard_id}").status_code == 204


def _evaluated(world: World, rule_ids: list[str]) -> list[dict[str, Any]]:
    """Fire the evaluator and wait until it has judged every rule: their state and last value."""
    fired = requests.post(f"{world.stack.endpoints['control']}/schedules/evaluate_alerts", timeout=30)
    assert fired.status_code == 202, fired.text

    def judged() -> list[dict[str, Any]] | None:
        views = [world.as_b("GET", f"/api/v1/alerts/{rule_id}").json() for rule_id in rule_ids]
        if any(view["last_evaluated_at"] is None for view in views):
            return None
        return [{key: view[key] for key in ("state", "last_value")} for view in views]

    return wait_for(judged, timeout_s=30, interval_s=0.2)


@settings(SETTINGS, max_examples=3)
@given(rules=st.lists(strategies.alert_rules(), min_size=8, max_size=8))
def test_alert_evaluation(worlds, rules):
    created: list[list[str]] = []
    for world in worlds:
        ids = []
        for rule in rules:
            # The owner's own address: notifications go only to addresses the owner has verified.
            channels = [{"type": "email", "to": world.b_email}]
            response = world.as_b("POST", "/api/v1/alerts/", json={**rule, "channels": channels})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        created.append(ids)
    views = [_evaluated(world, ids) for world, ids in zip(worlds, created, strict=True)]
    assert views[1] == views[0]
    for world, ids in zip(worlds, created, strict=True):
        for rule_id in ids:
            world.as_b("DELETE", f"/api/v1/alerts/{rule_id}")
