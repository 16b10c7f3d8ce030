"""CartService, OrderService and PaymentService through the orders context's composition root,
with the orders table and the catalog in memory and Redis faked: stock checks, the read-through
cart, placing an order all or nothing, the status machine, expiry, idempotent payments and
refunds. No moto, no sockets."""

from __future__ import annotations

import pytest

from chalicelib.config import Settings
from chalicelib.errors import BadRequest, Conflict, NotFound, UnprocessableEntity
from chalicelib.orders.container import Orders, build
from chalicelib.orders.errors import InsufficientStock
from chalicelib.principal import Principal
from tests.unit.fake_stores import InMemoryCatalog, InMemoryOrders, Shelved
from tests.unit.fakes import FakeClients

ALICE = Principal("alice-id", "alice", ("user",), via="jwt")
BOB = Principal("bob-id", "bob", ("user",), via="jwt")
ADMIN = Principal("admin-id", "admin", ("user", "admin"), via="jwt")
LAMP, DESK = 1, 2
T0 = 1_900_000_000.0
WINDOW_S = 60


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Shop:
    def __init__(self, max_unpaid: int = 5) -> None:
        self.catalog = InMemoryCatalog(
            Shelved(LAMP, "Lamp", 19.99, stock=5, thumbnail="lamp.png"), Shelved(DESK, "Desk", 250.0, stock=1)
        )
        self.store = InMemoryOrders(self.catalog)
        self.clock = Clock()
        settings = Settings.from_env(
            {"ORDER_PAYMENT_WINDOW_S": str(WINDOW_S), "ORDERS_MAX_UNPAID_PER_USER": str(max_unpaid)}
        )
        self.context: Orders = build(
            settings,
            FakeClients(),
            catalog=self.catalog,
            email_of={"alice-id": "alice@example.com"}.get,
            store=self.store,
        )
        for service in (self.context.carts, self.context.orders, self.context.payments):
            service.clock = self.clock
        self.carts, self.orders, self.payments = self.context.carts, self.context.orders, self.context.payments

    def order(self, who: Principal = ALICE, **lines: int) -> dict:
        for name, quantity in lines.items():
            self.carts.add(who.user_id, {"lamp": LAMP, "desk": DESK}[name], quantity)
        return self.orders.place(who)

    def pay(self, order_id: str, key: str = "k1", method: str = "pm_card_visa", who: Principal = ALICE):
        return self.payments.process(who, key, {"order_id": order_id, "payment_method_id": method})


@pytest.fixture
def shop() -> Shop:
    return Shop()


# -- carts ----------------------------------------------------------------------------------------


def test_a_cart_grows_only_within_stock_and_only_with_products_that_exist(shop):
    cart = shop.carts.add("alice-id", LAMP, 2)
    assert cart["items"] == [
        {
            "product_id": LAMP,
            "title": "Lamp",
            "price": 19.99,
            "quantity": 2,
            "line_total": 39.98,
            "thumbnail": "lamp.png",
            "stock": 5,
            "available": True,
        }
    ]
    assert (cart["total"], cart["total_quantity"]) == (39.98, 2)
    with pytest.raises(Conflict, match="Only 5 of 'Lamp' in stock"):
        shop.carts.add("alice-id", LAMP, 4)
    with pytest.raises(NotFound):
        shop.carts.add("alice-id", 99, 1)
    # Lowering a line needs no stock; a line not in the cart cannot be changed or removed.
    assert shop.carts.set_quantity("alice-id", LAMP, 1)["total_quantity"] == 1
    with pytest.raises(NotFound):
        shop.carts.set_quantity("alice-id", DESK, 1)
    with pytest.raises(NotFound):
        shop.carts.remove("alice-id", DESK)
    assert shop.carts.remove("alice-id", LAMP)["items"] == []


def test_the_cart_is_read_through_the_cache_and_every_change_drops_it(shop):
    shop.carts.add("alice-id", LAMP, 1)
    assert shop.carts.view("alice-id")[1] is False
    shown, cached = shop.carts.view("alice-id")
    assert cached is True and shown["total_quantity"] == 1
    shop.carts.add("alice-id", LAMP, 1)
    shown, cached = shop.carts.view("alice-id")
    assert cached is False and shown["total_quantity"] == 2
    shop.carts.clear("alice-id")
    assert shop.carts.view("alice-id")[0]["items"] == []


def test_a_cart_holds_a_bounded_number_of_products(shop):
    for product_id in range(10, 60):
        shop.catalog.shelf[product_id] = Shelved(product_id, f"P{product_id}", 1.0, stock=1)
        shop.carts.add("alice-id", product_id, 1)
    shop.catalog.shelf[60] = Shelved(60, "P60", 1.0, stock=1)
    with pytest.raises(Conflict, match="at most 50"):
        shop.carts.add("alice-id", 60, 1)


# -- orders ---------------------------------------------------------------------------------------


def test_an_order_takes_a_price_snapshot_and_the_stock_and_empties_the_cart(shop):
    order = shop.order(lamp=2, desk=1)
    assert order["status"] == "pending_payment" and order["total_cents"] == 2 * 1999 + 25000
    assert [(i["product_id"], i["quantity"], i["line_total"]) for i in order["items"]] == [
        (LAMP, 2, 39.98),
        (DESK, 1, 250.0),
    ]
    assert order["pay_by"] is not None and order["history"][0]["by"] == "alice-id"
    assert (shop.catalog.stock(LAMP), shop.catalog.stock(DESK)) == (3, 0)
    assert shop.store.cart("alice-id") is None
    assert shop.store.order(order["id"]).email == "alice@example.com"
    # A later price change does not touch the snapshot.
    shop.catalog.shelf[LAMP] = Shelved(LAMP, "Lamp", 99.0, stock=3)
    assert shop.orders.get(ALICE, order["id"])["items"][0]["price"] == 19.99


def test_a_shortfall_names_each_product_and_changes_nothing(shop):
    shop.carts.add("alice-id", LAMP, 2)
    shop.carts.add("alice-id", DESK, 1)
    shop.order(who=BOB, desk=1)  # the last desk goes to someone else first
    with pytest.raises(InsufficientStock) as short:
        shop.orders.place(ALICE)
    assert short.value.items == [{"product_id": DESK, "title": "Desk", "requested": 1, "available": 0}]
    assert shop.catalog.stock(LAMP) == 5 and shop.store.cart("alice-id").quantities() == {LAMP: 2, DESK: 1}
    with pytest.raises(Conflict, match="empty"):
        shop.orders.place(BOB)


def test_unpaid_orders_are_capped_per_user():
    capped = Shop(max_unpaid=2)
    capped.order(lamp=1)
    capped.order(lamp=1)
    with pytest.raises(Conflict, match="2 orders awaiting payment"):
        capped.order(lamp=1)
    assert capped.catalog.stock(LAMP) == 3 and capped.order(who=BOB, lamp=1)["status"] == "pending_payment"


def test_another_users_order_is_not_found_and_an_administrator_sees_it(shop):
    order = shop.order(lamp=1)
    with pytest.raises(NotFound):
        shop.orders.get(BOB, order["id"])
    with pytest.raises(NotFound):
        shop.orders.cancel(BOB, order["id"])
    assert shop.orders.get(ADMIN, order["id"])["id"] == order["id"]


def test_the_owner_cancels_an_unpaid_order_and_its_stock_comes_back(shop):
    order = shop.order(lamp=2)
    cancelled = shop.orders.cancel(ALICE, order["id"])
    assert cancelled["status"] == "cancelled" and [h["status"] for h in cancelled["history"]] == [
        "pending_payment",
        "cancelled",
    ]
    assert shop.catalog.stock(LAMP) == 5
    with pytest.raises(Conflict, match="only an order pending payment"):
        shop.orders.cancel(ALICE, order["id"])


def test_administrators_move_orders_along_the_status_machine_only(shop):
    order = shop.order(lamp=1)
    for target, reason in (
        ("paid", "by a payment"),
        ("expired", "by itself"),
        ("shipped", "cannot become shipped"),
    ):
        with pytest.raises(Conflict, match=reason):
            shop.orders.set_status(ADMIN, order["id"], target)
    shop.pay(order["id"])
    with pytest.raises(Conflict, match="refunding"):
        shop.orders.set_status(ADMIN, order["id"], "cancelled")
    assert shop.orders.set_status(ADMIN, order["id"], "shipped")["status"] == "shipped"
    assert shop.orders.set_status(ADMIN, order["id"], "delivered")["status"] == "delivered"
    with pytest.raises(Conflict, match="from delivered: nowhere"):
        shop.orders.set_status(ADMIN, order["id"], "shipped")
    unpaid = shop.order(lamp=1)
    assert shop.orders.set_status(ADMIN, unpaid["id"], "cancelled")["status"] == "cancelled"
    assert shop.catalog.stock(LAMP) == 4


def test_unpaid_orders_past_their_window_expire_and_give_their_stock_back(shop):
    late = shop.order(lamp=2)
    shop.clock.now += WINDOW_S / 2
    fresh = shop.order(lamp=1)
    shop.clock.now += WINDOW_S / 2 + 1
    assert shop.orders.expire_due() == {"expired": 1, "kept": 0}
    assert shop.orders.get(ALICE, late["id"])["status"] == "expired"
    assert shop.orders.get(ALICE, fresh["id"])["status"] == "pending_payment"
    assert shop.catalog.stock(LAMP) == 4
    with pytest.raises(Conflict, match="expired"):
        shop.pay(late["id"])


def test_order_history_is_newest_first_page_by_page(shop):
    placed = []
    for _ in range(3):
        placed.append(shop.order(lamp=1)["id"])
        shop.clock.now += 1
    first = shop.orders.history(ALICE, 2, None)
    rest = shop.orders.history(ALICE, 2, first["next"])
    assert [o["id"] for o in first["items"] + rest["items"]] == placed[::-1]
    with pytest.raises(BadRequest):
        shop.orders.history(ALICE, 0, None)


# -- payments -------------------------------------------------------------------------------------


def test_a_payment_charges_the_orders_total_once_per_idempotency_key(shop):
    order = shop.order(lamp=2)
    first = shop.pay(order["id"], key="k1")
    assert not first.replayed and first.payment["status"] == "succeeded" and first.payment["amount"] == 3998
    assert shop.orders.get(ALICE, order["id"])["status"] == "paid"
    again = shop.pay(order["id"], key="k1")
    assert again.replayed and again.payment == first.payment
    assert len(shop.store.charges) == 1
    with pytest.raises(UnprocessableEntity):
        shop.pay(order["id"], key="k1", method="pm_card_mastercard")
    with pytest.raises(Conflict, match="is paid"):
        shop.pay(order["id"], key="k2")
    with pytest.raises(BadRequest, match="Idempotency-Key"):
        shop.payments.process(ALICE, None, {"order_id": order["id"], "payment_method_id": "pm_card_visa"})


def test_a_declined_card_leaves_the_order_payable(shop):
    order = shop.order(lamp=1)
    declined = shop.pay(order["id"], key="k1", method="pm_card_chargeDeclined").payment
    assert (declined["status"], declined["decline_code"]) == ("declined", "generic_decline")
    assert shop.orders.get(ALICE, order["id"])["status"] == "pending_payment"
    assert shop.pay(order["id"], key="k2").payment["status"] == "succeeded"


def test_a_refusal_is_stored_with_its_key_and_answered_again(shop):
    order = shop.order(who=BOB, lamp=1)
    with pytest.raises(NotFound):
        shop.pay(order["id"], key="k1")  # Bob's order, paid by Alice
    with pytest.raises(NotFound):
        shop.pay(order["id"], key="k1")
    assert shop.store.charges == {}
    with pytest.raises(BadRequest, match="No such payment method"):
        shop.pay(shop.order(lamp=1)["id"], key="k9", method="pm_card_bogus")


def test_a_refund_cancels_a_paid_order_and_restocks_it(shop):
    order = shop.order(lamp=2)
    payment = shop.pay(order["id"]).payment
    with pytest.raises(NotFound):
        shop.payments.get(BOB, payment["id"])
    refunded = shop.payments.refund(ADMIN, payment["id"])
    assert refunded["status"] == "refunded" and refunded["refunded_at"] is not None
    assert shop.orders.get(ALICE, order["id"])["status"] == "cancelled"
    assert shop.catalog.stock(LAMP) == 5
    with pytest.raises(Conflict, match="only a succeeded payment"):
        shop.payments.refund(ADMIN, payment["id"])
