"""Unpaid orders expire and give their stock back; a payment racing the expiry has one winner;
open unpaid orders are capped per user; a paid order is not the owner's to cancel; a refund of a
payment that did not succeed never reaches the provider. Against the local cloud's moto server,
with the services' clocks in the test's hands (issue 13, items 7 and 10a)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Conflict
from chalicelib.principal import Principal

T0 = 1_900_000_000.0
WINDOW_S = 60
ALICE = Principal("alice-id", "alice", ("user",), via="test")
ADMIN = Principal("admin-id", "admin", ("user", "admin"), via="test")
PRODUCT = 11
STOCK = 5


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Provider:
    """The simulated provider, with a hook that runs in the middle of a charge and a call log."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.during_charge = lambda: None
        self.calls: list[str] = []

    def charge(self, **kwargs: Any) -> Any:
        self.calls.append("charge")
        self.during_charge()
        return self.inner.charge(**kwargs)

    def refund(self, **kwargs: Any) -> str:
        self.calls.append("refund")
        return self.inner.refund(**kwargs)


class Shop:
    def __init__(self, max_unpaid: int = 5) -> None:
        from chalicelib.catalog.container import catalog
        from chalicelib.catalog.products import Product
        from chalicelib.orders.container import orders
        from chalicelib.orders.provider import SimulatedStripe
        from chalicelib.orders.service import OrderService, PaymentService

        self.clock = Clock()
        self.catalog = catalog().store
        product = Product.from_json(PRODUCT, {"title": "Lamp", "category": "lamps", "price": 10.0, "stock": STOCK})
        self.catalog.put_product(product, replace=False)
        self.carts = orders().carts
        self.store = orders().store
        self.provider = Provider(SimulatedStripe(self.store, clock=self.clock))
        self.orders = OrderService(
            self.store,
            self.catalog,
            self.carts,
            email_of=lambda user_id: None,
            clock=self.clock,
            payment_window_s=WINDOW_S,
            max_unpaid=max_unpaid,
        )
        self.payments = PaymentService(self.store, self.provider, clock=self.clock)

    def place(self, who: Principal = ALICE) -> str:
        self.carts.add(who.user_id, PRODUCT, 1)
        return self.orders.place(who)["id"]

    def pay(self, order_id: str, method: str = "pm_card_visa", who: Principal = ALICE) -> dict[str, Any]:
        request = {"order_id": order_id, "payment_method_id": method}
        return self.payments.process(who, f"key-{order_id}-{method}", request).payment

    def stock(self) -> int:
        return int(self.catalog.product(PRODUCT, consistent=True).stock)

    def status(self, order_id: str) -> str:
        return self.store.order(order_id).status


@pytest.fixture
def shop(moto_server) -> Shop:
    return Shop()


def test_an_unpaid_order_expires_and_gives_its_stock_back(shop):
    order_id = shop.place()
    assert shop.stock() == STOCK - 1
    shop.clock.now = T0 + WINDOW_S - 1
    assert shop.orders.expire_due() == {"expired": 0, "kept": 0}
    shop.clock.now = T0 + WINDOW_S + 1
    assert shop.orders.expire_due() == {"expired": 1, "kept": 0}
    assert shop.status(order_id) == "expired" and shop.stock() == STOCK
    assert shop.orders.expire_due() == {"expired": 0, "kept": 0}  # once
    # The expiry won: paying now charges nothing.
    with pytest.raises(Conflict):
        shop.pay(order_id)
    assert shop.provider.calls == []


def test_a_payment_in_flight_wins_over_the_sweeper(shop):
    order_id = shop.place()
    shop.clock.now = T0 + WINDOW_S - 1

    def sweep_meanwhile() -> None:
        shop.clock.now = T0 + WINDOW_S + 5
        assert shop.orders.expire_due() == {"expired": 0, "kept": 1}

    shop.provider.during_charge = sweep_meanwhile
    assert shop.pay(order_id)["status"] == "succeeded"
    assert shop.status(order_id) == "paid" and shop.stock() == STOCK - 1
    assert shop.orders.expire_due() == {"expired": 0, "kept": 0}


def test_a_payment_slower_than_its_claim_loses_to_the_expiry_and_is_refunded(shop):
    order_id = shop.place()
    shop.clock.now = T0 + WINDOW_S - 1

    def stall_past_the_claim() -> None:
        shop.clock.now = T0 + WINDOW_S + 60
        assert shop.orders.expire_due() == {"expired": 1, "kept": 0}

    shop.provider.during_charge = stall_past_the_claim
    with pytest.raises(Conflict, match="refunded"):
        shop.pay(order_id)
    assert shop.provider.calls == ["charge", "refund"]
    assert shop.status(order_id) == "expired" and shop.stock() == STOCK


def test_open_unpaid_orders_are_capped_per_user(moto_server):
    shop = Shop(max_unpaid=2)
    first, _ = shop.place(), shop.place()
    with pytest.raises(Conflict, match="awaiting payment"):
        shop.place()
    assert shop.stock() == STOCK - 2  # the refused order took nothing
    bob = Principal("bob-id", "bob", ("user",), via="test")
    shop.place(bob)  # per user
    shop.pay(first)
    third = shop.place()
    shop.orders.cancel(ALICE, third)
    shop.place()
    shop.clock.now = T0 + WINDOW_S + 1
    assert shop.orders.expire_due()["expired"] == 3
    shop.place()
    shop.place()


def test_the_owner_cannot_cancel_a_paid_order(shop):
    order_id = shop.place()
    shop.pay(order_id)
    with pytest.raises(Conflict):
        shop.orders.cancel(ALICE, order_id)
    assert shop.status(order_id) == "paid" and shop.stock() == STOCK - 1


def test_a_refund_of_a_payment_that_did_not_succeed_never_reaches_the_provider(shop):
    order_id = shop.place()
    declined = shop.pay(order_id, method="pm_card_chargeDeclined")
    assert declined["status"] == "declined"
    shop.provider.calls.clear()
    with pytest.raises(Conflict):
        shop.payments.refund(ADMIN, declined["id"])
    assert shop.provider.calls == []
    assert shop.status(order_id) == "pending_payment"
