"""Products of their own for the catalog and orders tests, which share one stack.

Each call gets fresh ids and categories (`<slug>-<tag>`), so counts, facets and stock a test
asserts on cannot be disturbed by another test's products.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from devstack.demo_catalog import products
from tests.e2e.conftest import ADMIN
from tests.e2e.users import login
from tests.support.stack import wait_for

_blocks = itertools.count(1)
BLOCK = 100_000


def admin_headers(api) -> dict[str, str]:
    return login(api, ADMIN["username"], ADMIN["password"])


def fresh_products(count: int, **overrides: Any) -> tuple[str, list[dict[str, Any]]]:
    """(tag, products) with ids in a block no other call uses and categories suffixed by the tag."""
    tag = uuid.uuid4().hex[:6]
    first_id = (uuid.uuid4().int % 10_000 + next(_blocks)) * BLOCK
    made = products(count, seed=first_id, first_id=first_id)
    for product in made:
        product["category"] = f"{product['category']}-{tag}"
        product.update(overrides)
    return tag, made


def ingest(api, admin: dict[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post("/api/v1/admin/ingest", json={"products": items}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def categories_of(items: list[dict[str, Any]]) -> str:
    return ",".join(sorted({item["category"] for item in items}))


def searchable(api, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Wait until every one of `items` is in the index; their first page."""

    def page() -> dict[str, Any] | None:
        body = api.get("/api/v1/products", params={"category": categories_of(items), "limit": 100}).json()
        return body if body["total"] == len(items) else None

    return wait_for(page, timeout_s=15)
