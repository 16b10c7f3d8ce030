"""The orders context's composition root: carts, orders and payments over the orders table.

What orders need of other contexts comes in as ports (chalicelib/orders/model.py): the catalog's
products (`Offers`) and stock steps (`Stock`), and the address an order confirmation goes to. The
application plugs them in (chalicelib/composition.py); this context imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.cache import Cache
from chalicelib.clients import Clients
from chalicelib.config import Settings
from chalicelib.orders.model import Offers, OrdersStorage
from chalicelib.roots import Root

# The services and their store import PynamoDB (and botocore): loaded when the context is built.
if TYPE_CHECKING:
    from chalicelib.orders.provider import PaymentProvider
    from chalicelib.orders.service import CartService, OrderService, PaymentService
    from chalicelib.orders.store import Stock

# A cached cart shows prices as they were when it was cached; an order always takes today's.
CART_TTL_S = 120


@dataclass(frozen=True)
class Orders:
    carts: CartService
    orders: OrderService
    payments: PaymentService
    store: OrdersStorage
    cart_cache: Cache


def build(
    settings: Settings,
    clients: Clients,
    *,
    catalog: Offers,
    email_of: Callable[[str], str | None],
    stock: Stock | None = None,
    store: OrdersStorage | None = None,
    cart_cache: Cache | None = None,
    provider: PaymentProvider | None = None,
) -> Orders:
    from chalicelib.dynamo import bind
    from chalicelib.orders.provider import SimulatedStripe
    from chalicelib.orders.resources import ORDERS_TABLE
    from chalicelib.orders.service import CartService, OrderService, PaymentService
    from chalicelib.orders.store import OrdersItem, OrdersStore

    if store is None:
        if stock is None:
            raise TypeError("the orders table's store takes stock through the catalog's steps: pass stock=")
        bind(OrdersItem, ORDERS_TABLE, settings)
        store = OrdersStore(stock)
    cart_cache = cart_cache or Cache(clients.redis, namespace="cart", ttl_s=CART_TTL_S)
    carts = CartService(store, catalog, cart_cache)
    return Orders(
        carts=carts,
        orders=OrderService(
            store,
            catalog,
            carts,
            email_of,
            payment_window_s=settings.order_payment_window_s,
            max_unpaid=settings.orders_max_unpaid_per_user,
        ),
        payments=PaymentService(store, provider or SimulatedStripe(store)),
        store=store,
        cart_cache=cart_cache,
    )


orders: Root[Orders] = Root("orders")
