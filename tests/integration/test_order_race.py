"""One hundred shoppers order the last ten units at the same moment, against the local cloud's
own DynamoDB (moto's server with the local cloud's corrections): exactly ten orders, stock 0,
and the ninety refused are told which product ran short, with their carts left as they were."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.principal import Principal

SHOPPERS = 100
STOCK = 10


@pytest.mark.usefixtures("moto_server")
def test_a_hundred_concurrent_orders_for_ten_units_make_ten_orders() -> None:
    from chalicelib.catalog.container import catalog
    from chalicelib.catalog.products import Product
    from chalicelib.orders.container import orders
    from chalicelib.orders.service import InsufficientStock

    product = Product.from_json(7, {"title": "Last lamp", "category": "lamps", "price": 25.0, "stock": STOCK})
    catalog().store.put_product(product, replace=False)
    shoppers = [
        Principal(user_id=f"shopper-{n}", username=f"s{n}", roles=("user",), via="test") for n in range(SHOPPERS)
    ]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda shopper: orders().carts.add(shopper.user_id, 7, 1), shoppers))

    start = threading.Barrier(SHOPPERS)

    def order(shopper: Principal) -> str:
        start.wait()
        try:
            return orders().orders.place(shopper)["id"]
        except InsufficientStock as refused:
            assert refused.items == [{"product_id": 7, "title": "Last lamp", "requested": 1, "available": 0}]
            return "refused"

    with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
        outcomes = list(pool.map(order, shoppers))

    placed = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(placed) == STOCK and len(set(placed)) == STOCK
    assert outcomes.count("refused") == SHOPPERS - STOCK
    assert int(catalog().store.product(7, consistent=True).stock) == 0
    store = orders().store
    winners = {store.order(order_id).user_id for order_id in placed}
    assert len(winners) == STOCK
    for shopper in shoppers:
        cart = store.cart(shopper.user_id)
        # A winner's cart went with the order; a refused shopper's cart is untouched.
        assert (cart is None) == (shopper.user_id in winners)
        assert shopper.user_id in winners or cart.quantities() == {7: 1}
