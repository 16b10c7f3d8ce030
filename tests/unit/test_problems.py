"""Problems resolved along the exception's MRO, with the exception's own extensions
(chalicelib/http/errors.py): a subclass answers its base's status under a type of its own."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import errors
from chalicelib.http.errors import problem, problem_for
from chalicelib.http.paging import InvalidCursor
from chalicelib.orders.errors import InsufficientStock, PaymentDeclined

SHORT = [{"product_id": 7, "title": "Lamp", "requested": 3, "available": 1}]
DECLINED = {"id": "pay_1", "status": "declined", "decline_code": "insufficient_funds", "amount": 1200}


def body(response: Any) -> dict[str, Any]:
    return json.loads(response.body)


def test_the_nearest_class_of_the_mro_decides_the_status() -> None:
    class Renamed(errors.NotFound):
        slug, title = "renamed", "Gone elsewhere"

    class Later(errors.TooManyRequests):
        pass

    assert (
        problem_for(Renamed("x")).status_code == 404 and body(problem_for(Renamed("x")))["type"] == "/problems/renamed"
    )
    assert problem_for(InvalidCursor()).status_code == 400
    # Headers follow the MRO too.
    assert problem_for(Later("slow down", retry_after_s=7)).headers["Retry-After"] == "7"
    assert problem_for(errors.DomainError("?")).status_code == 400


def test_an_exception_carries_its_own_extensions() -> None:
    stock = problem_for(InsufficientStock(SHORT))
    assert stock.status_code == 409 and body(stock)["items"] == SHORT
    declined = problem_for(PaymentDeclined(DECLINED), {"Idempotent-Replayed": "true"})
    assert declined.status_code == 402 and declined.headers["Idempotent-Replayed"] == "true"
    assert (body(declined)["decline_code"], body(declined)["payment"]) == ("insufficient_funds", DECLINED)
    invalid = problem_for(errors.ValidationFailed([errors.FieldError("$.a", "bad")]))
    assert body(invalid)["errors"] == [{"path": "$.a", "message": "bad"}]


def test_the_bodies_are_those_the_routes_built_by_hand() -> None:
    short = InsufficientStock(SHORT)
    assert problem_for(short).body == problem(409, short.slug, short.title, short.detail, items=SHORT).body
    detail = "The card was declined (insufficient_funds); the order is still pending payment"
    by_hand = problem(
        402, "payment-declined", "Payment declined", detail, decline_code="insufficient_funds", payment=DECLINED
    )
    assert problem_for(PaymentDeclined(DECLINED)).body == by_hand.body
