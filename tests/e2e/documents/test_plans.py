"""The seed's plan flow over HTTP: validation, ETags, conditional writes, merges, search."""

from __future__ import annotations

import copy
import json
import threading

import pytest

from tests.e2e.users import new_user
from tests.support.plans import plan, plan_service
from tests.support.stack import wait_for

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def alice(stack):
    from tests.e2e.conftest import Api

    with Api(stack.endpoints["api"]) as session:
        return new_user(session, "alice")


@pytest.fixture(scope="module")
def bob(stack):
    from tests.e2e.conftest import Api

    with Api(stack.endpoints["api"]) as session:
        return new_user(session, "bob")


def create(api, headers, document):
    response = api.post("/api/v1/plans", json=document, headers=headers)
    assert response.status_code == 201, response.text
    return response


def owner_id(api, headers) -> str:
    return api.get("/api/v1/users/profile/", headers=headers).json()["id"]


def search(api, headers, body, doc_type="plan"):
    response = api.post(f"/api/v1/search?type={doc_type}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def ids(result) -> set[str]:
    return {hit["_id"] for hit in result["hits"]["hits"]}


def has_service_named(phrase: str) -> dict:
    return {
        "query": {
            "has_child": {
                "type": "linkedPlanServices",
                "query": {"has_child": {"type": "linkedService", "query": {"match_phrase": {"name": phrase}}}},
            }
        }
    }


def test_the_seed_flow(api, alice):
    document = plan(services=(("Yearly physical", 0),))
    plan_id = document["objectId"]
    created = create(api, alice, document)
    assert created.headers["Location"] == f"/api/v1/plans/{plan_id}"
    etag = created.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    read = api.get(f"/api/v1/plans/{plan_id}", headers=alice)
    assert read.status_code == 200 and read.headers["ETag"] == etag
    assert read.json() == document
    not_modified = api.get(f"/api/v1/plans/{plan_id}", headers={**alice, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""

    new_service = plan_service("example.com", "Acupuncture sessions", copay=15)
    patch = {"linkedPlanServices": [new_service]}
    stale = api.patch(f"/api/v1/plans/{plan_id}", json=patch, headers={**alice, "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert stale.json()["type"] == "/problems/precondition-failed"

    merged = api.patch(f"/api/v1/plans/{plan_id}", json=patch, headers={**alice, "If-Match": etag})
    assert merged.status_code == 200, merged.text
    services = merged.json()["linkedPlanServices"]
    assert [s["objectId"] for s in services] == [document["linkedPlanServices"][0]["objectId"], new_service["objectId"]]
    assert merged.headers["ETag"] != etag

    found = wait_for(lambda: ids(search(api, alice, has_service_named("acupuncture sessions"))) or None)
    assert found == {plan_id}

    deleted = api.delete(f"/api/v1/plans/{plan_id}", headers=alice)
    assert deleted.status_code == 204
    assert api.get(f"/api/v1/plans/{plan_id}", headers=alice).status_code == 404
    wait_for(lambda: not ids(search(api, alice, has_service_named("acupuncture sessions"))))
    # Every object of the tree is gone from the index, not just the root.
    leftovers = search(api, alice, {"query": {"term": {"_org": "example.com"}}, "size": 100})
    assert not {o["objectId"] for o in [document["planCostShares"], new_service]} & ids(leftovers)


def test_every_schema_violation_is_listed_with_its_path(api, alice):
    document = plan()
    document["planCostShares"]["copay"] = -1
    del document["planType"]
    document["linkedPlanServices"][0]["linkedService"]["surprise"] = True
    response = api.post("/api/v1/plans", json=document, headers=alice)
    assert response.status_code == 400
    problem = response.json()
    paths = {error["path"] for error in problem["errors"]}
    assert paths == {"$", "$.planCostShares.copay", "$.linkedPlanServices[0].linkedService"}


def test_a_duplicate_object_id_is_409(api, alice):
    document = plan()
    create(api, alice, document)
    assert api.post("/api/v1/plans", json=document, headers=alice).status_code == 409


def test_writes_need_if_match(api, alice):
    document = plan()
    etag = create(api, alice, document).headers["ETag"]
    url = f"/api/v1/plans/{document['objectId']}"
    changed = {**document, "planType": "outOfNetwork"}
    missing = api.put(url, json=changed, headers=alice)
    assert missing.status_code == 428 and missing.json()["type"] == "/problems/precondition-required"
    assert api.patch(url, json={"planType": "x"}, headers=alice).status_code == 428
    replaced = api.put(url, json=changed, headers={**alice, "If-Match": etag})
    assert replaced.status_code == 200 and replaced.json()["planType"] == "outOfNetwork"
    assert api.put(url, json=document, headers={**alice, "If-Match": etag}).status_code == 412
    assert api.delete(url, headers={**alice, "If-Match": etag}).status_code == 412
    assert api.delete(url, headers={**alice, "If-Match": replaced.headers["ETag"]}).status_code == 204


def test_of_two_writers_with_the_same_etag_exactly_one_wins(api, stack, alice):
    from tests.e2e.conftest import Api

    document = plan()
    etag = create(api, alice, document).headers["ETag"]
    url = f"/api/v1/plans/{document['objectId']}"
    statuses: list[int] = []
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        with Api(stack.endpoints["api"]) as session:
            barrier.wait()
            response = session.patch(url, json={"planType": f"type-{n}"}, headers={**alice, "If-Match": etag})
            statuses.append(response.status_code)
            if response.status_code == 200:
                winners.append(f"type-{n}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 7
    assert api.get(url, headers=alice).json()["planType"] == winners[0]


def test_merge_patch_follows_rfc_7396(api, alice):
    document = plan(services=(("Dental", 5), ("Vision", 7)))
    etag = create(api, alice, document).headers["ETag"]
    url = f"/api/v1/plans/{document['objectId']}"
    # An array replaces in RFC 7396; the remaining planservice must still satisfy the schema.
    only_vision = [document["linkedPlanServices"][1]]
    response = api.patch(
        url, data=json.dumps({"linkedPlanServices": only_vision}), headers={**alice, **MERGE_PATCH, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["linkedPlanServices"] == only_vision
    # A merge that breaks the schema is refused and nothing is written.
    broken = api.patch(
        url, data=json.dumps({"planType": None}), headers={**alice, **MERGE_PATCH, "If-Match": response.headers["ETag"]}
    )
    assert broken.status_code == 400
    assert api.get(url, headers=alice).json()["planType"] == "inNetwork"


def test_json_patch_merges_array_items_by_object_id(api, alice):
    document = plan(services=(("Dental", 5), ("Vision", 7)))
    etag = create(api, alice, document).headers["ETag"]
    vision = document["linkedPlanServices"][1]
    patch = {
        "linkedPlanServices": [
            {
                "objectId": vision["objectId"],
                "planserviceCostShares": {"objectId": vision["planserviceCostShares"]["objectId"], "copay": 99},
            }
        ]
    }
    response = api.patch(f"/api/v1/plans/{document['objectId']}", json=patch, headers={**alice, "If-Match": etag})
    assert response.status_code == 200, response.text
    expected = copy.deepcopy(document)
    expected["linkedPlanServices"][1]["planserviceCostShares"]["copay"] = 99
    assert response.json() == expected


def test_another_users_plan_is_not_found_and_not_searchable(api, alice, bob):
    document = plan(services=(("Private therapy", 0),))
    etag = create(api, alice, document).headers["ETag"]
    url = f"/api/v1/plans/{document['objectId']}"
    assert api.get(url, headers=bob).status_code == 404
    assert api.patch(url, json={"planType": "x"}, headers={**bob, "If-Match": etag}).status_code == 404
    assert api.delete(url, headers=bob).status_code == 404
    wait_for(lambda: ids(search(api, alice, has_service_named("private therapy"))))
    assert not ids(search(api, bob, has_service_named("private therapy")))
    assert document["objectId"] not in {p["objectId"] for p in api.get("/api/v1/plans", headers=bob).json()["items"]}


def test_parent_child_queries(api, alice):
    document = plan(org="clinic.example", services=(("Massage", 40), ("Checkup", 5)))
    plan_id = document["objectId"]
    etag = create(api, alice, document).headers["ETag"]
    massage = document["linkedPlanServices"][0]

    pricey = {"query": {"has_child": {"type": "planserviceCostShares", "query": {"range": {"copay": {"gte": 30}}}}}}
    assert wait_for(lambda: massage["objectId"] in ids(search(api, alice, pricey)))
    of_plan = {"query": {"parent_id": {"type": "linkedPlanServices", "id": plan_id}}}
    assert ids(search(api, alice, of_plan)) == {s["objectId"] for s in document["linkedPlanServices"]}

    # Change the massage copay; the old value must no longer be found.
    patch = {
        "linkedPlanServices": [
            {
                "objectId": massage["objectId"],
                "planserviceCostShares": {"objectId": massage["planserviceCostShares"]["objectId"], "copay": 12},
            }
        ]
    }
    assert api.patch(f"/api/v1/plans/{plan_id}", json=patch, headers={**alice, "If-Match": etag}).status_code == 200
    old_value = {"query": {"bool": {"filter": [{"term": {"copay": 40}}, {"term": {"_org": "clinic.example"}}]}}}
    wait_for(lambda: not ids(search(api, alice, old_value)))
    new_value = {"query": {"bool": {"filter": [{"term": {"copay": 12}}, {"term": {"_org": "clinic.example"}}]}}}
    assert ids(search(api, alice, new_value)) == {massage["planserviceCostShares"]["objectId"]}

    aggregated = search(
        api,
        alice,
        {
            "size": 0,
            "query": {"term": {"_org": "clinic.example"}},
            "aggs": {"types": {"terms": {"field": "objectType"}}},
        },
    )
    counts = {b["key"]: b["doc_count"] for b in aggregated["aggregations"]["types"]["buckets"]}
    assert counts == {"plan": 1, "planservice": 2, "service": 2, "membercostshare": 3}


def test_full_text_search_returns_plans_with_their_matching_objects(api, alice):
    document = plan(org="fulltext.example", services=(("Chiropractic adjustment", 20),))
    create(api, alice, document)
    result = wait_for(
        lambda: (
            (r := api.get("/api/v1/plans/search?q=chiropractic&org=fulltext.example", headers=alice).json())["count"]
            and r
        )
    )
    assert result["items"][0]["plan_id"] == document["objectId"]
    assert {m["objectType"] for m in result["items"][0]["matches"]} == {"service"}


def test_a_refused_query_names_the_refused_part(api, alice):
    response = api.post("/api/v1/search", json={"query": {"script": {"script": "1"}}}, headers=alice)
    assert response.status_code == 400
    assert "script" in response.json()["detail"]
    too_big = api.post("/api/v1/search", json={"size": 1000, "query": {"match_all": {}}}, headers=alice)
    assert too_big.status_code == 400 and "size" in too_big.json()["detail"]


def test_listing_filters_by_org_and_pages_with_a_cursor(api, alice):
    org = "paging.example"
    made = sorted(create(api, alice, plan(org=org)).json()["objectId"] for _ in range(5))
    seen, cursor = [], None
    while True:
        url = f"/api/v1/plans?_org={org}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url, headers=alice).json()
        seen += [p["objectId"] for p in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == made
    offset = api.get(f"/api/v1/plans?_org={org}&limit=2&offset=3", headers=alice).json()
    assert [p["objectId"] for p in offset["items"]] == made[3:5]
    assert api.get("/api/v1/plans?limit=0", headers=alice).status_code == 400
    assert api.get("/api/v1/plans?cursor=garbage", headers=alice).status_code == 400


def test_an_offset_page_is_the_slice_of_the_whole_listing(api):
    carol = new_user(api, "offsets")
    made = sorted(create(api, carol, plan()).json()["objectId"] for _ in range(7))
    for offset in range(9):
        page = api.get(f"/api/v1/plans?limit=3&offset={offset}", headers=carol).json()
        assert [p["objectId"] for p in page["items"]] == made[offset : offset + 3], offset
        assert bool(page["next"]) == (offset + 3 < len(made)), offset
    # An offset counts from the cursor's position.
    cursor = api.get("/api/v1/plans?limit=2", headers=carol).json()["next"]
    page = api.get(f"/api/v1/plans?limit=2&offset=3&cursor={cursor}", headers=carol).json()
    assert [p["objectId"] for p in page["items"]] == made[5:7] and page["next"] is None


def test_documents_need_credentials(api):
    assert api.get("/api/v1/plans").status_code == 401
    assert api.post("/api/v1/plans", json=plan()).status_code == 401


def test_a_second_read_is_served_from_redis_and_a_write_invalidates_it(api, stack, alice):
    import redis

    document = plan()
    etag = create(api, alice, document).headers["ETag"]
    url = f"/api/v1/plans/{document['objectId']}"
    cache = redis.Redis.from_url(stack.endpoints["redis"])
    key = f"doc:{owner_id(api, alice)}:plan:{document['objectId']}"
    # The create's stream record drops the key too: let that happen before the reads.
    stack.settle()
    api.get(url, headers=alice)
    assert json.loads(cache.get(key))["etag"] == etag
    patched = api.patch(url, json={"planType": "cached"}, headers={**alice, "If-Match": etag})
    assert patched.status_code == 200
    # The next read sees the new version, never the cached old one.
    assert api.get(url, headers=alice).headers["ETag"] == patched.headers["ETag"]


def test_document_events_are_published(api, stack, alice):
    document = plan()
    create(api, alice, document)
    sqs = stack.aws("sqs")
    url = sqs.get_queue_url(QueueName="sp-local-events")["QueueUrl"]
    seen: list[dict] = []

    def created_event():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"]))
        return [e for e in seen if e["type"] == "document.created" and e["data"]["id"] == document["objectId"]]

    event = wait_for(created_event, timeout_s=15)[0]
    assert event["data"] == {"type": "plan", "id": document["objectId"], "owner": owner_id(api, alice)}
    assert {"id", "type", "occurred_at", "correlation_id", "data"} <= set(event)
