"""The orders context's pure parts: money, stream records into domain events, the consumer
plumbing (envelopes, partial batch failures), the simulated provider, refusal messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.errors import BadRequest, Conflict
from chalicelib.events.delivery import consume, envelope_of
from chalicelib.orders.handlers import event_of
from chalicelib.orders.provider import SimulatedStripe
from chalicelib.orders.service import TRANSITIONS, InsufficientStock, amount, cents, decode_cursor, encode_cursor
from tests.unit.fake_stores import InMemoryCatalog, InMemoryOrders


def test_money_is_counted_in_cents_without_float_drift() -> None:
    assert [cents(p) for p in (19.99, 0.1 + 0.2, 1749, "9.995")] == [1999, 30, 174900, 1000]
    assert amount(599600) == 5996.0 and amount(1999) == 19.99


def test_the_status_machine_ends_in_delivered_cancelled_or_expired() -> None:
    assert TRANSITIONS["pending_payment"] == ("paid", "cancelled", "expired")
    assert TRANSITIONS["delivered"] == TRANSITIONS["cancelled"] == TRANSITIONS["expired"] == ()


def test_a_shortfall_names_every_product_short() -> None:
    short = InsufficientStock(
        [
            {"product_id": 1, "title": "Lamp", "requested": 3, "available": 1},
            {"product_id": 2, "title": None, "requested": 1, "available": 0},
        ]
    )
    assert isinstance(short, Conflict) and short.slug == "insufficient-stock"
    assert short.detail == "Not enough stock for: Lamp (asked 3, 1 left), 2 (asked 1, 0 left). Nothing was ordered."


def test_order_cursors_round_trip_and_refuse_anything_else() -> None:
    after = "ORDER#0001700000000000#ord_abc"
    assert decode_cursor(encode_cursor(after)) == after
    for bad in ("!!", encode_cursor("CART#x"), encode_cursor("ORDER#1")):
        with pytest.raises(BadRequest):
            decode_cursor(bad)


# -- stream records → events --------------------------------------------------------------------


def stream_record(pk: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Keys": {"pk": {"S": pk}, "sk": {"S": pk.split("#")[0]}}}
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    return {"dynamodb": body}


def order_image(status: str) -> dict[str, Any]:
    lines = [{"product_id": 7, "title": "Lamp", "price_cents": 2500, "quantity": 2, "line_total_cents": 5000}]
    return {
        "order_id": {"S": "ord_1"},
        "user_id": {"S": "u1"},
        "status": {"S": status},
        "lines": {"S": json.dumps(lines)},
        "total_cents": {"N": "5000"},
        "currency": {"S": "usd"},
    }


def test_order_records_become_created_and_status_changed() -> None:
    created = event_of(stream_record("ORDER#ord_1", order_image("pending_payment")))
    assert created == (
        "order.created",
        {
            "order_id": "ord_1",
            "user_id": "u1",
            "items": [{"product_id": 7, "quantity": 2}],
            "total_cents": 5000,
            "currency": "usd",
            "status": "pending_payment",
        },
    )
    changed = event_of(stream_record("ORDER#ord_1", order_image("paid"), order_image("pending_payment")))
    assert changed is not None and changed[0] == "order.status_changed"
    assert (changed[1]["from"], changed[1]["to"]) == ("pending_payment", "paid")
    # A payer's claim on the order changes no status: no event.
    assert event_of(stream_record("ORDER#ord_1", order_image("paid"), order_image("paid"))) is None


def test_cart_records_become_cart_updated_even_when_the_cart_goes() -> None:
    lines = {"lines": {"S": json.dumps([{"product_id": 3, "quantity": 2}, {"product_id": 4, "quantity": 1}])}}
    assert event_of(stream_record("CART#u1", lines)) == (
        "cart.updated",
        {
            "user_id": "u1",
            "items": [{"product_id": 3, "quantity": 2}, {"product_id": 4, "quantity": 1}],
            "total_quantity": 3,
        },
    )
    assert event_of(stream_record("CART#u1", None, lines)) == (
        "cart.updated",
        {"user_id": "u1", "items": [], "total_quantity": 0},
    )


def test_payment_records_become_processed_then_refunded() -> None:
    def payment(status: str) -> dict[str, Any]:
        return {
            "payment_id": {"S": "pay_1"},
            "order_id": {"S": "ord_1"},
            "user_id": {"S": "u1"},
            "amount_cents": {"N": "5000"},
            "currency": {"S": "usd"},
            "status": {"S": status},
            "decline_code": {"NULL": True},
        }

    processed = event_of(stream_record("PAYMENT#pay_1", payment("succeeded")))
    assert processed == (
        "payment.processed",
        {
            "payment_id": "pay_1",
            "order_id": "ord_1",
            "user_id": "u1",
            "amount": 5000,
            "currency": "usd",
            "status": "succeeded",
            "decline_code": None,
        },
    )
    refunded = event_of(stream_record("PAYMENT#pay_1", payment("refunded"), payment("succeeded")))
    assert refunded is not None and refunded[0] == "payment.refunded"
    for other in ("IDEMPOTENCY#u1#k", "SIMCHARGE#pay_1", "INBOX#mail#e1"):
        assert event_of(stream_record(other, {"state": {"S": "done"}})) is None


# -- consumer plumbing -------------------------------------------------------------------------


class Record:
    def __init__(self, message_id: str, body: str) -> None:
        self.body = body
        self._id = message_id

    def to_dict(self) -> dict[str, Any]:
        return {"messageId": self._id, "body": self.body}


def test_envelopes_come_from_the_bus_or_straight_from_the_queue() -> None:
    envelope = {"id": "e1", "type": "order.created", "occurred_at": "t", "correlation_id": "c", "data": {"x": 1}}
    assert envelope_of(json.dumps({"detail-type": "order.created", "detail": envelope})) == envelope
    assert envelope_of(json.dumps(envelope)) == envelope
    for bad in ("[]", '{"id": "e1"}', json.dumps({**envelope, "data": []})):
        with pytest.raises(ValueError):
            envelope_of(bad)


def test_only_the_messages_that_fail_are_reported() -> None:
    handled = []

    def handle(event: dict[str, Any]) -> None:
        if event["data"].get("explode"):
            raise RuntimeError("boom")
        handled.append(event["id"])

    def message(event_id: str, **data: Any) -> str:
        return json.dumps({"id": event_id, "type": "t", "data": data})

    records = [Record("m1", message("e1")), Record("m2", "not json"), Record("m3", message("e3", explode=True))]
    records.append(Record("m4", message("e4")))
    assert consume(records, handle, "test") == {
        "batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]
    }
    assert handled == ["e1", "e4"]


# -- the simulated provider ---------------------------------------------------------------------


def test_the_simulated_provider_charges_once_per_key_and_declines_test_cards() -> None:
    provider = SimulatedStripe(InMemoryOrders(InMemoryCatalog()), clock=lambda: 1.0)
    first = provider.charge(amount_cents=500, currency="usd", payment_method="pm_card_visa", key="k1", description="o")
    again = provider.charge(amount_cents=500, currency="usd", payment_method="pm_card_visa", key="k1", description="o")
    assert first == again and first.status == "succeeded" and first.id.startswith("ch_")
    declined = provider.charge(
        amount_cents=500, currency="usd", payment_method="pm_card_insufficientFunds", key="k2", description="o"
    )
    assert (declined.status, declined.decline_code) == ("declined", "insufficient_funds")
    with pytest.raises(BadRequest, match="pm_card_visa"):
        provider.charge(amount_cents=1, currency="usd", payment_method="pm_card_bogus", key="k3", description="o")

    refund = provider.refund(charge_id=first.id, key="k1")
    assert refund.startswith("re_") and provider.refund(charge_id=first.id, key="k1") == refund
    with pytest.raises(Conflict):
        provider.refund(charge_id=declined.id, key="k2")
