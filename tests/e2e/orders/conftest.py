"""Fixtures for the cart, order and payment tests: stocked products of their own, shoppers,
the administrator, and clients of the stack's moto and Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from tests.e2e.shop import admin_headers, fresh_products, ingest
from tests.e2e.users import new_user


@pytest.fixture
def admin(api) -> dict[str, str]:
    return admin_headers(api)


@pytest.fixture
def shopper(api) -> dict[str, str]:
    return new_user(api, "shopper")


@pytest.fixture
def stocked(api, admin) -> Callable[..., list[dict[str, Any]]]:
    """Products of this test's own with the given stock levels, e.g. stocked(10, 3)."""

    def make(*stocks: int, price: float = 10.0) -> list[dict[str, Any]]:
        _, items = fresh_products(len(stocks), price=price)
        for item, stock in zip(items, stocks, strict=True):
            item["stock"] = stock
        ingest(api, admin, items)
        return items

    return make


@pytest.fixture(scope="session")
def aws(stack) -> Callable[[str], Any]:
    return stack.aws


@pytest.fixture(scope="session")
def cache(stack) -> redis.Redis:
    return redis.Redis.from_url(stack.endpoints["redis"])


def user_id(api, headers: dict[str, str]) -> str:
    return api.get("/api/v1/users/profile/", headers=headers).json()["id"]


def stock_of(api, product_id: int) -> int:
    return api.get(f"/api/v1/products/{product_id}").json()["stock"]


def add(api, headers: dict[str, str], product_id: int, quantity: int = 1) -> Any:
    return api.post("/api/v1/cart/add/", json={"product_id": product_id, "quantity": quantity}, headers=headers)


def place(api, headers: dict[str, str]) -> Any:
    return api.post("/api/v1/orders/", headers=headers)
