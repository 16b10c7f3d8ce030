"""Payments over HTTP: the simulated Stripe provider, declines as 402 problems, Idempotency-Key
semantics (one charge for any number of retries), no second payment, administrator refunds."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.e2e.orders.conftest import add, place, stock_of
from tests.e2e.users import new_user


@pytest.fixture
def order(api, shopper, stocked) -> dict[str, Any]:
    (product,) = stocked(6, price=19.99)
    add(api, shopper, product["id"], 3)
    placed = place(api, shopper)
    assert placed.status_code == 201, placed.text
    return placed.json() | {"product_id": product["id"]}


def pay(api, headers, order_id: str, method: str = "pm_card_visa", key: str | None = None, **extra):
    key = key or uuid.uuid4().hex
    body = {"order_id": order_id, "payment_method_id": method, **extra}
    return api.post("/api/v1/payments/process/", json=body, headers={**headers, "Idempotency-Key": key})


def charges(aws, order_id: str) -> list[dict[str, Any]]:
    """Every charge the simulated provider made for the order, from its ledger."""
    scan = (
        aws("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName="sp-local-orders",
            FilterExpression="begins_with(pk, :ledger) AND description = :order",
            ExpressionAttributeValues={":ledger": {"S": "SIMCHARGE#"}, ":order": {"S": f"Order {order_id}"}},
        )
    )
    return [item for page in scan for item in page["Items"]]


def test_a_visa_pays_the_orders_own_total(api, shopper, order, aws):
    paid = pay(api, shopper, order["id"])
    assert paid.status_code == 200, paid.text
    payment = paid.json()
    assert (payment["status"], payment["amount"], payment["currency"]) == ("succeeded", 5997, "usd")
    assert payment["charge_id"].startswith("ch_") and "Idempotent-Replayed" not in paid.headers
    read = api.get(f"/api/v1/orders/{order['id']}", headers=shopper).json()
    assert read["status"] == "paid" and read["payment_id"] == payment["id"]
    assert [h["status"] for h in read["history"]] == ["pending_payment", "paid"]
    assert [o["status"] for o in api.get("/api/v1/orders/", headers=shopper).json()["items"]] == ["paid"]
    assert api.get(f"/api/v1/payments/{payment['id']}", headers=shopper).json() == payment

    again = pay(api, shopper, order["id"])
    assert again.status_code == 409 and "is paid" in again.json()["detail"]
    assert [c["status"]["S"] for c in charges(aws, order["id"])] == ["succeeded"]


@pytest.mark.parametrize(
    ("method", "code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_insufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_is_a_402_problem_and_the_order_stays_payable(api, shopper, order, method, code):
    declined = pay(api, shopper, order["id"], method)
    assert declined.status_code == 402
    problem = declined.json()
    assert declined.headers["Content-Type"] == "application/problem+json"
    assert (problem["type"], problem["decline_code"], problem["payment"]["status"]) == (
        "/problems/payment-declined",
        code,
        "declined",
    )
    assert api.get(f"/api/v1/orders/{order['id']}", headers=shopper).json()["status"] == "pending_payment"
    assert pay(api, shopper, order["id"]).status_code == 200


def test_twenty_retries_of_one_key_charge_once(api, shopper, order, aws):
    key = uuid.uuid4().hex
    responses = [pay(api, shopper, order["id"], key=key) for _ in range(20)]
    assert {r.status_code for r in responses} == {200}
    assert all(r.json() == responses[0].json() for r in responses)
    assert [r.headers.get("Idempotent-Replayed") for r in responses] == [None] + ["true"] * 19
    assert len(charges(aws, order["id"])) == 1

    other_body = pay(api, shopper, order["id"], "pm_card_mastercard", key=key)
    assert other_body.status_code == 422 and other_body.json()["type"] == "/problems/unprocessable-entity"


def test_twenty_concurrent_retries_of_one_key_charge_once(stack, api, shopper, order, aws):
    key = uuid.uuid4().hex

    def attempt(_: int) -> tuple[int, Any]:
        with Api(stack.endpoints["api"]) as session:
            response = pay(session, shopper, order["id"], key=key)
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    # The first request charges; those that arrive while it runs are told to retry (409).
    assert {status for status, _ in results} <= {200, 409}
    assert any(status == 200 for status, _ in results)
    settled = pay(api, shopper, order["id"], key=key)
    assert settled.status_code == 200 and settled.headers["Idempotent-Replayed"] == "true"
    assert all(body == settled.json() for status, body in results if status == 200)
    assert len(charges(aws, order["id"])) == 1


def test_a_stored_refusal_is_replayed_too(api, shopper, order):
    stranger = new_user(api, "stranger")
    key = uuid.uuid4().hex
    first = pay(api, stranger, order["id"], key=key)
    assert first.status_code == 404, "another user's order"
    assert pay(api, stranger, order["id"], key=key).status_code == 404
    unknown = pay(api, shopper, order["id"], "pm_card_unheardOf")
    assert unknown.status_code == 400 and "pm_card_visa" in unknown.json()["detail"]


def test_the_amount_never_comes_from_the_client(api, shopper, order):
    with_amount = pay(api, shopper, order["id"], amount=1)
    assert with_amount.status_code == 400 and with_amount.json()["errors"][0]["path"] == "$"
    missing_key = api.post(
        "/api/v1/payments/process/",
        json={"order_id": order["id"], "payment_method_id": "pm_card_visa"},
        headers=shopper,
    )
    assert missing_key.status_code == 400 and "Idempotency-Key" in missing_key.json()["detail"]


def test_an_administrator_refunds_and_the_order_is_cancelled_and_restocked(api, shopper, order, admin):
    payment = pay(api, shopper, order["id"]).json()
    assert stock_of(api, order["product_id"]) == 3
    assert api.post(f"/api/v1/payments/{payment['id']}/refund/", headers=shopper).status_code == 403

    refunded = api.post(f"/api/v1/payments/{payment['id']}/refund/", headers=admin)
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded" and refunded.json()["refunded_at"]
    read = api.get(f"/api/v1/orders/{order['id']}", headers=shopper).json()
    assert read["status"] == "cancelled" and [h["status"] for h in read["history"]][-1] == "cancelled"
    assert stock_of(api, order["product_id"]) == 6
    assert api.post(f"/api/v1/payments/{payment['id']}/refund/", headers=admin).status_code == 409
    assert api.post("/api/v1/payments/pay_missing/refund/", headers=admin).status_code == 404


def test_shipping_and_delivery_follow_payment_and_a_late_refund_leaves_the_order(api, shopper, order, admin):
    payment = pay(api, shopper, order["id"]).json()
    url = f"/api/v1/orders/{order['id']}/status"
    assert api.patch(url, json={"status": "cancelled"}, headers=admin).status_code == 409, "refund instead"
    assert api.patch(url, json={"status": "shipped"}, headers=admin).json()["status"] == "shipped"
    assert api.patch(url, json={"status": "shipped"}, headers=admin).status_code == 409
    assert api.patch(url, json={"status": "delivered"}, headers=admin).json()["status"] == "delivered"
    assert api.post(f"/api/v1/payments/{payment['id']}/refund/", headers=admin).json()["status"] == "refunded"
    read = api.get(f"/api/v1/orders/{order['id']}", headers=shopper).json()
    assert read["status"] == "delivered"
    assert [h["status"] for h in read["history"]] == ["pending_payment", "paid", "shipped", "delivered"]
    assert stock_of(api, order["product_id"]) == 3, "delivered goods do not come back by a refund"
