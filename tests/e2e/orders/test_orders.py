"""Orders over HTTP: one transaction from cart to order, shortfalls that change nothing, the
status machine, history. (A hundred shoppers racing for ten units: tests/integration/test_order_race.py.)"""

from __future__ import annotations

from tests.e2e.orders.conftest import add, place, stock_of
from tests.e2e.shop import categories_of
from tests.e2e.users import new_user
from tests.support.stack import wait_for


def test_an_order_snapshots_prices_takes_stock_and_empties_the_cart(api, shopper, stocked, admin):
    first, second = stocked(5, 9, price=12.5)
    add(api, shopper, first["id"], 2)
    add(api, shopper, second["id"], 3)
    placed = place(api, shopper)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert order["status"] == "pending_payment"
    assert [(i["product_id"], i["quantity"], i["price"], i["line_total"]) for i in order["items"]] == [
        (first["id"], 2, 12.5, 25.0),
        (second["id"], 3, 12.5, 37.5),
    ]
    assert (order["total"], order["total_cents"]) == (62.5, 6250)
    assert (stock_of(api, first["id"]), stock_of(api, second["id"])) == (3, 6)
    assert api.get("/api/v1/cart/", headers=shopper).json()["items"] == []

    def indexed_stock() -> dict[int, int]:
        page = api.get("/api/v1/products", params={"category": categories_of([first, second])}).json()
        return {product["id"]: product["stock"] for product in page["items"]}

    wait_for(lambda: indexed_stock() == {first["id"]: 3, second["id"]: 6})

    # The snapshot keeps the price the order was placed at.
    api.patch(f"/api/v1/products/{first['id']}", json={"price": 99}, headers=admin)
    read = api.get(f"/api/v1/orders/{order['id']}", headers=shopper)
    assert read.json()["items"][0]["price"] == 12.5
    assert [h["status"] for h in read.json()["history"]] == ["pending_payment"]
    assert (
        api.get(f"/api/v1/orders/{order['id']}", headers={**shopper, "If-None-Match": read.headers["ETag"]}).status_code
        == 304
    )
    assert api.get(f"/api/v1/orders/{order['id']}", headers=new_user(api, "other")).status_code == 404
    assert api.get("/api/v1/orders/ord_00000000000000000000", headers=shopper).status_code == 404


def test_a_shortfall_names_the_products_and_changes_nothing(api, shopper, stocked, admin):
    plenty, scarce = stocked(10, 4)
    add(api, shopper, plenty["id"], 2)
    add(api, shopper, scarce["id"], 3)
    # Someone else bought most of it after it went into this cart.
    api.patch(f"/api/v1/products/{scarce['id']}", json={"stock": 1}, headers=admin)

    refused = place(api, shopper)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "/problems/insufficient-stock", problem
    assert problem["items"] == [{"product_id": scarce["id"], "title": scarce["title"], "requested": 3, "available": 1}]
    assert scarce["title"] in problem["detail"]
    assert (stock_of(api, plenty["id"]), stock_of(api, scarce["id"])) == (10, 1)
    assert api.get("/api/v1/cart/", headers=shopper).json()["total_quantity"] == 5
    assert api.get("/api/v1/orders/", headers=shopper).json()["items"] == []
    assert place(api, new_user(api, "empty")).status_code == 409


def test_history_is_newest_first_and_paged(api, shopper, stocked):
    (product,) = stocked(10)
    placed = []
    for _ in range(3):
        add(api, shopper, product["id"])
        placed.append(place(api, shopper).json()["id"])
    first = api.get("/api/v1/orders/", params={"limit": 2}, headers=shopper).json()
    assert [o["id"] for o in first["items"]] == placed[::-1][:2]
    rest = api.get("/api/v1/orders/", params={"limit": 2, "cursor": first["next"]}, headers=shopper).json()
    assert [o["id"] for o in rest["items"]] == placed[:1]
    assert api.get("/api/orders/", params={"cursor": "bogus"}, headers=shopper).status_code == 400


def test_status_machine(api, shopper, stocked, admin):
    (product,) = stocked(10)
    add(api, shopper, product["id"], 4)
    order_id = place(api, shopper).json()["id"]

    def status(to: str, headers=admin):
        return api.patch(f"/api/v1/orders/{order_id}/status", json={"status": to}, headers=headers)

    assert status("shipped", shopper).status_code == 403
    illegal = status("delivered")
    assert illegal.status_code == 409 and "pending_payment" in illegal.json()["detail"]
    assert status("paid").status_code == 400, "paid is not a status an administrator sets"

    cancelled = api.post(f"/api/v1/orders/{order_id}/cancel/", headers=shopper)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stock_of(api, product["id"]) == 10, "cancelling gives the stock back"
    assert api.post(f"/api/v1/orders/{order_id}/cancel/", headers=shopper).status_code == 409
    assert status("shipped").status_code == 409
    assert [h["status"] for h in api.get(f"/api/v1/orders/{order_id}", headers=admin).json()["history"]] == [
        "pending_payment",
        "cancelled",
    ]
