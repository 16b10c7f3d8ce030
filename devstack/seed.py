"""`make seed`: a living demo shop in the running local cloud, the same every time.

An administrator and three shoppers, 200 products in 13 categories (devstack/demo_catalog.py,
fixed seed), orders in every state and carts with something in them. Running it again
changes nothing: accounts, orders and products are only created when missing, carts are only
written when they differ.

The demo products take ids from DEMO_FIRST_ID up, a block no DummyJSON-shaped source uses
(DummyJSON's ids run from 1 to about 200), and a product already stored under one of those ids
is left as it is: `make seed` never replaces products that `make ingest` or an administrator
put there.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from devstack.client import connect
from devstack.demo_catalog import products

if TYPE_CHECKING:
    from chalicelib.principal import Principal

PRODUCTS = 200
SEED = 7
DEMO_FIRST_ID = 1_000_001
ADMIN = ("shop-admin", "admin@shop.example", "Quartz-meadow-4-violin")
PASSWORD = "tulip orbit lantern 7"
# username → (orders to place: lines and how far each goes, then what is left in the cart). Lines
# name products by their place among those with enough stock, so every order can be placed.
SHOPPERS: dict[str, tuple[list[tuple[dict[int, int], str]], dict[int, int]]] = {
    "alice": ([({0: 1, 6: 2}, "delivered"), ({2: 1}, "paid")], {1: 1, 4: 1}),
    "bob": ([({8: 3}, "shipped"), ({10: 1, 11: 1}, "pending_payment")], {3: 2}),
    "carol": ([({5: 1}, "cancelled")], {7: 1}),
}
MIN_STOCK = 15
ADVANCE = {"shipped": ("shipped",), "delivered": ("shipped", "delivered")}


def shopper(username: str) -> Principal:
    from chalicelib.auth.container import identity
    from chalicelib.errors import Conflict

    accounts = identity().service
    # An account made by an earlier run is kept as it is.
    with contextlib.suppress(Conflict):
        accounts.register(
            {
                "username": username,
                "email": f"{username}@shop.example",
                "password": PASSWORD,
                "password2": PASSWORD,
                "first_name": username.capitalize(),
            }
        )
    access = accounts.login(username, PASSWORD, client="seed")["access"]
    return accounts.authenticate_bearer(access)


def lines_of(positions: dict[int, int], stocked: list[int]) -> dict[int, int]:
    return {stocked[position]: quantity for position, quantity in positions.items()}


def fill_cart(user_id: str, lines: dict[int, int]) -> None:
    from chalicelib.orders.container import orders

    cart = orders().store.cart(user_id)
    if (cart.quantities() if cart else {}) == lines:
        return
    carts = orders().carts
    carts.clear(user_id)
    for product_id, quantity in lines.items():
        carts.add(user_id, product_id, quantity)


def place_orders(
    principal: Principal, admin: Principal, orders: list[tuple[dict[int, int], str]], stocked: list[int]
) -> int:
    from chalicelib.orders.container import orders as shop

    if shop().store.orders_of(principal.user_id, None, 1)[0]:
        return 0
    for n, (positions, status) in enumerate(orders):
        fill_cart(principal.user_id, lines_of(positions, stocked))
        order = shop().orders.place(principal)
        if status == "cancelled":
            shop().orders.cancel(principal, order["id"])
        elif status != "pending_payment":
            request = {"order_id": order["id"], "payment_method_id": "pm_card_visa"}
            shop().payments.process(principal, f"seed-{principal.username}-{n}", request)
            for step in ADVANCE.get(status, ()):
                shop().orders.set_status(admin, order["id"], step)
    return len(orders)


def main() -> int:
    if not connect():
        return 1
    from chalicelib.auth.container import identity
    from chalicelib.catalog.container import catalog as shelves

    username, email, password = ADMIN
    accounts = identity().service
    accounts.ensure_admin(username, email, password)
    admin = accounts.authenticate_bearer(accounts.login(username, password, "seed")["access"])
    catalog = products(PRODUCTS, seed=SEED, first_id=DEMO_FIRST_ID, famous=True)
    stored = shelves().store.stored(product["id"] for product in catalog)
    missing = [product for product in catalog if product["id"] not in stored]
    report = shelves().ingestor().run(missing) if missing else None
    stocked = [product["id"] for product in catalog if product["stock"] >= MIN_STOCK]
    first, last = catalog[0]["id"], catalog[-1]["id"]
    print(
        f"products {first}-{last}: {report.created if report else 0} created, {len(stored)} already there "
        f"(left as they are; other products are never touched); "
        f"categories created: {len(report.categories_created) if report else 0}"
    )
    for name, (orders, cart) in SHOPPERS.items():
        principal = shopper(name)
        placed = place_orders(principal, admin, orders, stocked)
        fill_cart(principal.user_id, lines_of(cart, stocked))
        print(f"{name}: {placed} order(s) placed, {sum(cart.values())} item(s) in the cart")
    print(f"\nadministrator: {username} / {password}")
    print(f"shoppers: {', '.join(SHOPPERS)} / {PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
