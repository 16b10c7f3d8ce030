"""The cart over HTTP: durable in DynamoDB, read through Redis under cart:<user_id>, checked
against stock, working while Redis is down, publishing cart.updated."""

from __future__ import annotations

import json

import requests

from tests.e2e.orders.conftest import add, user_id
from tests.support.stack import wait_for


def test_the_second_view_comes_from_redis_and_a_change_drops_it(api, stack, shopper, stocked, cache):
    first, second = stocked(5, 8)
    owner = user_id(api, shopper)
    added = add(api, shopper, first["id"], 2)
    assert added.status_code == 200, added.text
    assert add(api, shopper, second["id"]).json()["total_quantity"] == 3
    # The stream drops the cached cart again after each change: let it, before reading.
    stack.settle()

    miss = api.get("/api/v1/cart/", headers=shopper)
    hit = api.get("/api/cart/", headers=shopper)
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
    assert hit.json() == miss.json()
    cached = json.loads(cache.get(f"cart:{owner}"))
    assert [(i["product_id"], i["quantity"]) for i in cached["items"]] == [(first["id"], 2), (second["id"], 1)]
    assert cached["total"] == 30.0

    changed = api.patch(f"/api/v1/cart/items/{second['id']}", json={"quantity": 4}, headers=shopper)
    assert changed.status_code == 200 and changed.json()["total_quantity"] == 6
    assert cache.get(f"cart:{owner}") is None
    assert api.get("/api/v1/cart/", headers=shopper).json()["total_quantity"] == 6

    removed = api.delete(f"/api/v1/cart/items/{first['id']}", headers=shopper)
    assert [i["product_id"] for i in removed.json()["items"]] == [second["id"]]
    assert api.delete("/api/v1/cart/", headers=shopper).status_code == 204
    assert api.get("/api/v1/cart/", headers=shopper).json()["items"] == []


def test_quantities_are_positive_and_within_stock(api, shopper, stocked):
    (product,) = stocked(3)
    assert add(api, shopper, product["id"], 0).status_code == 400
    assert add(api, shopper, product["id"], 2).status_code == 200
    too_many = add(api, shopper, product["id"], 2)
    assert too_many.status_code == 409 and "Only 3" in too_many.json()["detail"]
    assert api.patch(f"/api/v1/cart/items/{product['id']}", json={"quantity": 4}, headers=shopper).status_code == 409
    assert api.patch(f"/api/v1/cart/items/{product['id']}", json={"quantity": 3}, headers=shopper).status_code == 200
    assert add(api, shopper, 987_654_321_098).status_code == 404
    assert api.delete("/api/v1/cart/items/987654321098", headers=shopper).status_code == 404
    assert api.patch("/api/v1/cart/items/abc", json={"quantity": 1}, headers=shopper).status_code == 400
    assert api.get("/api/v1/cart/").status_code == 401


def test_the_cart_works_while_redis_is_down(api, shopper, stocked, stack):
    (product,) = stocked(5)
    control = stack.endpoints["control"]
    requests.post(f"{control}/services/redis/stop", timeout=10).raise_for_status()
    try:
        assert add(api, shopper, product["id"], 2).status_code == 200
        for _ in range(2):
            view = api.get("/api/v1/cart/", headers=shopper)
            assert view.status_code == 200 and view.headers["X-Cache"] == "MISS"
            assert view.json()["total_quantity"] == 2
    finally:
        requests.post(f"{control}/services/redis/start", timeout=10).raise_for_status()
    wait_for(lambda: api.get("/api/v1/cart/", headers=shopper).headers["X-Cache"] == "HIT", timeout_s=10)


def test_each_change_publishes_cart_updated(api, admin, shopper, stocked):
    (product,) = stocked(5)
    owner = user_id(api, shopper)
    add(api, shopper, product["id"], 1)
    add(api, shopper, product["id"], 1)

    def cart_events():
        page = api.get("/api/v1/admin/audit", params={"type": "cart.", "limit": 100}, headers=admin).json()
        mine = [e for e in page["items"] if e["subject"] == owner]
        return mine if len(mine) == 2 else None

    events = wait_for(cart_events, timeout_s=15)
    assert sorted(e["data"]["total_quantity"] for e in events) == [1, 2]
    assert {"event_id", "type", "occurred_at", "correlation_id", "data"} <= set(events[0])
