"""Tenant isolation, case by case: the three reproductions of the isolation issue, and one test
per owner filter or owner condition, each written so that removing that one guard fails it.
(tests/isolation holds the property test: B's answers with and without A's data.)"""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.users import new_user
from tests.support.plans import plan
from tests.support.stack import wait_for


@pytest.fixture
def two(api) -> tuple[dict[str, str], dict[str, str]]:
    """Two fresh users: nothing either stores is on anyone's first page but their own."""
    return new_user(api, "iso"), new_user(api, "iso")


def _create(api, headers, document, path="/api/v1/plans"):
    response = api.post(path, json=document, headers=headers)
    assert response.status_code == 201, response.text
    return response


def _search(api, headers, body, doc_type="plan") -> dict[str, Any]:
    response = api.post(f"/api/v1/search?type={doc_type}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _named(name: str) -> dict[str, Any]:
    """Plans with a planservice whose service is named `name`."""
    return {
        "query": {
            "has_child": {
                "type": "linkedPlanServices",
                "query": {"has_child": {"type": "linkedService", "query": {"match_phrase": {"name": name}}}},
            }
        }
    }


def _renamed(document: dict[str, Any], plan_id: str, service_name: str) -> dict[str, Any]:
    """The same tree (every child objectId kept) under another plan id and service name."""
    other = copy.deepcopy(document)
    other["objectId"] = plan_id
    other["linkedPlanServices"][0]["linkedService"]["name"] = service_name
    return other


# -- the three reproductions ------------------------------------------------------------------


def test_a_new_account_sees_no_terms_of_anyone_elses_documents(api, stack, two):
    alice, newcomer = two
    _create(api, alice, plan(services=(("Secret acupuncture", 1),)))
    stack.settle()
    leak = {"size": 0, "aggs": {"x": {"terms": {"field": "objectId", "size": 1000, "min_doc_count": 0}}}}
    refused = api.post("/api/v1/search", json=leak, headers=newcomer)
    assert refused.status_code == 400 and "min_doc_count" in refused.json()["detail"]
    allowed = _search(api, newcomer, {"size": 0, "aggs": {"x": {"terms": {"field": "objectId", "size": 1000}}}})
    assert allowed["hits"]["total"]["value"] == 0 and allowed["aggregations"]["x"]["buckets"] == []


def test_plans_sharing_child_ids_do_not_touch_each_others_index_documents(api, stack, two):
    alice, bob = two
    mine = plan(services=(("Yearly physical", 0),))
    service = mine["linkedPlanServices"][0]["linkedService"]
    _create(api, alice, mine)
    # Bob's plan of the same id, another of Bob's and another of Alice's hold the very same
    # child objectIds; each is written, then deleted.
    others = (
        (bob, _renamed(mine, mine["objectId"], "Bob same id")),
        (bob, _renamed(mine, f"b-{uuid.uuid4().hex[:8]}", "Bob only")),
        (alice, _renamed(mine, f"a-{uuid.uuid4().hex[:8]}", "Alice second")),
    )
    for owner, other in others:
        _create(api, owner, other)
        stack.settle()
        assert api.delete(f"/api/v1/plans/{other['objectId']}", headers=owner).status_code == 204
        stack.settle()
    found = api.get(f"/api/v1/services/{service['objectId']}", headers=alice)
    assert found.status_code == 200 and found.json() == service
    assert found.headers["X-Contained-In"] == f"/api/v1/plans/{mine['objectId']}"
    texts = api.get("/api/v1/plans/search", params={"q": "physical"}, headers=alice).json()
    assert [item["plan_id"] for item in texts["items"]] == [mine["objectId"]]
    assert {hit["_id"] for hit in _search(api, alice, _named("yearly physical"))["hits"]["hits"]} == {mine["objectId"]}
    assert _search(api, bob, _named("yearly physical"))["hits"]["total"]["value"] == 0


def test_another_owners_object_ids_are_free_and_answer_like_missing_ones(api, two):
    alice, bob = two
    hers = plan()
    created = _create(api, alice, hers)
    url = f"/api/v1/plans/{hers['objectId']}"
    nobody = {**hers, "objectId": f"nobody-{uuid.uuid4().hex[:8]}"}
    missing = f"/api/v1/plans/{nobody['objectId']}"
    attempts = (
        ("GET", {}),
        ("PUT", {"If-Match": created.headers["ETag"]}),
        ("PATCH", {"If-Match": "*"}),
        ("DELETE", {}),
    )
    for method, headers in attempts:
        theirs = api.request(method, url, json=hers, headers={**bob, **headers})
        nobodys = api.request(method, missing, json=nobody, headers={**bob, **headers})
        assert theirs.status_code == nobodys.status_code == 404, method
        assert theirs.json()["title"] == nobodys.json()["title"]
    # Bob may hold the same id: his own plan, created, and hers untouched.
    assert _create(api, bob, hers).status_code == 201
    assert api.get(url, headers=alice).headers["ETag"] == created.headers["ETag"]


# -- one test per owner condition and owner filter ------------------------------------------


def test_a_write_or_delete_of_one_owners_document_leaves_the_same_id_of_another(api, two):
    alice, bob = two
    document = plan()
    url = f"/api/v1/plans/{document['objectId']}"
    hers = _create(api, alice, document).headers["ETag"]
    his = _create(api, bob, document).headers["ETag"]
    changed = {**document, "planType": "outOfNetwork"}
    assert api.put(url, json=changed, headers={**bob, "If-Match": his}).status_code == 200
    assert api.get(url, headers=alice).headers["ETag"] == hers
    assert api.delete(url, headers=bob).status_code == 204
    assert api.get(url, headers=alice).headers["ETag"] == hers
    assert api.get(url, headers=bob).status_code == 404


def test_a_listing_holds_the_callers_documents_only(api, two):
    alice, bob = two
    # Alice's ids sort first: an owner filter left out would put them on Bob's first page.
    hers = [_create(api, alice, {**plan(), "objectId": f"0-{n}-{uuid.uuid4().hex[:6]}"}) for n in range(2)]
    his = {_create(api, bob, plan()).json()["objectId"] for _ in range(2)}
    listed = api.get("/api/v1/plans", params={"limit": 100}, headers=bob).json()["items"]
    assert {item["objectId"] for item in listed} == his
    assert len(hers) == 2


def test_document_search_sees_the_callers_documents_only(api, stack, two):
    alice, bob = two
    _create(api, alice, plan(services=(("Hyperbaric oxygen", 3),)))
    _create(api, bob, plan(services=(("Ordinary checkup", 3),)))
    stack.settle()
    assert _search(api, alice, _named("hyperbaric oxygen"))["hits"]["total"]["value"] == 1
    assert _search(api, bob, _named("hyperbaric oxygen"))["hits"]["total"]["value"] == 0
    everything = _search(api, bob, {"size": 100, "query": {"match_all": {}}})
    assert {hit["_source"]["_org"] for hit in everything["hits"]["hits"]} == {"example.com"}
    assert everything["hits"]["total"]["value"] == 1 + 1 + 3  # plan, cost share, planservice + 2 children


def test_full_text_plan_search_sees_the_callers_plans_only(api, stack, two):
    alice, bob = two
    _create(api, alice, plan(services=(("Cryotherapy", 3),)))
    stack.settle()
    assert api.get("/api/v1/plans/search", params={"q": "cryotherapy"}, headers=alice).json()["count"] == 1
    assert api.get("/api/v1/plans/search", params={"q": "cryotherapy"}, headers=bob).json() == {
        "items": [],
        "count": 0,
        "total_objects": 0,
    }


def test_a_service_is_found_in_the_callers_plans_only_and_names_the_callers_plan(api, stack, two):
    alice, bob = two
    his = plan(services=(("His copy", 1),))
    service_id = his["linkedPlanServices"][0]["linkedService"]["objectId"]
    _create(api, bob, his)
    stack.settle()
    # Alice's plan holding the same service id is written last: the most recent anywhere.
    _create(api, alice, _renamed(his, f"a-{uuid.uuid4().hex[:8]}", "Her copy"))
    stack.settle()
    found = api.get(f"/api/v1/services/{service_id}", headers=bob)
    assert found.json()["name"] == "His copy"
    assert found.headers["X-Contained-In"] == f"/api/v1/plans/{his['objectId']}"
    nobody = new_user(api, "iso")
    assert api.get(f"/api/v1/services/{service_id}", headers=nobody).status_code == 404


def test_of_an_owners_plans_holding_one_service_the_most_recent_answers(api, stack, two):
    alice, _ = two
    first = plan(services=(("First copy", 1),))
    second = _renamed(first, f"second-{uuid.uuid4().hex[:8]}", "Second copy")
    service_id = first["linkedPlanServices"][0]["linkedService"]["objectId"]
    _create(api, alice, first)
    stack.settle()
    etag = _create(api, alice, second).headers["ETag"]
    stack.settle()
    found = api.get(f"/api/v1/services/{service_id}", headers=alice)
    assert (found.json()["name"], found.headers["X-Contained-In"]) == (
        "Second copy",
        f"/api/v1/plans/{second['objectId']}",
    )
    # Writing the first again makes it the most recent; deleting it hands back the second.
    changed = {**first, "planType": "outOfNetwork"}
    assert api.put(f"/api/v1/plans/{first['objectId']}", json=changed, headers={**alice, "If-Match": "*"}).ok
    stack.settle()
    assert api.get(f"/api/v1/services/{service_id}", headers=alice).json()["name"] == "First copy"
    assert api.delete(f"/api/v1/plans/{first['objectId']}", headers=alice).status_code == 204
    stack.settle()
    assert api.get(f"/api/v1/services/{service_id}", headers=alice).json()["name"] == "Second copy"
    assert etag.startswith('"')


def _ship(api, headers, message: str, count: int) -> None:
    now = datetime.datetime.now(datetime.UTC)
    events = [
        {
            "timestamp": (now - datetime.timedelta(seconds=n)).isoformat(),
            "level": "error",
            "service": "iso",
            "message": f"{message} {n}",
        }
        for n in range(count)
    ]
    assert api.post("/api/v1/logs/", json=events, headers=headers).status_code == 202


def test_logs_dashboards_and_alerts_count_the_callers_events_only(api, stack, two):
    alice, bob = two
    word = f"w{uuid.uuid4().hex[:10]}"
    _ship(api, alice, word, 4)
    _ship(api, bob, "unrelated", 1)

    def total(headers) -> int:
        return api.get("/api/v1/logs/search", params={"q": word, "from": "now-1h"}, headers=headers).json()["total"]

    wait_for(lambda: total(alice) == 4, timeout_s=20)
    assert total(bob) == 0
    widgets = [{"title": "n", "query": {"q": word}, "view": {"type": "stat", "stat": "count"}}]
    board = api.post("/api/v1/dashboards/", json={"name": "iso", "widgets": widgets}, headers=bob).json()
    data = api.get(f"/api/v1/dashboards/{board['id']}/data", params={"from": "now-1h"}, headers=bob).json()
    assert data["widgets"][0]["value"] == 0
    email = api.get("/api/v1/users/profile/", headers=bob).json()["email"]
    rule = {
        "name": "iso",
        "query": {"q": word},
        "window": "1h",
        "comparison": ">",
        "threshold": 0,
        "channels": [{"type": "email", "to": email}],
    }
    rule_id = api.post("/api/v1/alerts/", json=rule, headers=bob).json()["id"]
    assert requests.post(f"{stack.endpoints['control']}/schedules/evaluate_alerts", timeout=10).status_code == 202
    judged = wait_for(
        lambda: (view := api.get(f"/api/v1/alerts/{rule_id}", headers=bob).json())["last_evaluated_at"] and view,
        timeout_s=20,
    )
    assert (judged["state"], judged["last_value"]) == ("ok", 0)
