"""Builds the orders services from settings, once per process and on first use."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chalicelib import clients
from chalicelib.cache import Cache
from chalicelib.config import get_settings

# The services and their stores import PynamoDB (and botocore): loaded on first use.
if TYPE_CHECKING:
    from chalicelib.orders.service import CartService, OrderService, PaymentService
    from chalicelib.orders.store import OrdersStore

# A cached cart shows prices as they were when it was cached; an order always takes today's.
CART_TTL_S = 120


@functools.cache
def cart_cache() -> Cache:
    return Cache(clients.redis, namespace="cart", ttl_s=CART_TTL_S)


@functools.cache
def orders_store() -> OrdersStore:
    from chalicelib.orders.store import OrdersStore

    return OrdersStore()


@functools.cache
def cart_service() -> CartService:
    from chalicelib.catalog.container import catalog_store
    from chalicelib.orders.service import CartService

    return CartService(orders_store(), catalog_store(), cart_cache())


@functools.cache
def order_service() -> OrderService:
    from chalicelib.catalog.container import catalog_store
    from chalicelib.orders.service import OrderService

    settings = get_settings()
    return OrderService(
        orders_store(),
        catalog_store(),
        cart_service(),
        payment_window_s=settings.order_payment_window_s,
        max_unpaid=settings.orders_max_unpaid_per_user,
    )


@functools.cache
def payment_service() -> PaymentService:
    from chalicelib.orders.provider import SimulatedStripe
    from chalicelib.orders.service import PaymentService

    return PaymentService(orders_store(), SimulatedStripe(orders_store()))
