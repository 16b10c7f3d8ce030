"""Pointing the commerce stores at tables of a test's own.

The stores bind their PynamoDB models to table names and an endpoint when first imported; a
test with its own prefix (and its own moto) rebinds them, and drops the cached services built
on the old binding."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import Settings


def bind_stores(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    from chalicelib.audit.store import AuditEntry
    from chalicelib.catalog.store import CatalogItem
    from chalicelib.orders import store as orders_store

    meta_by_table: dict[str, Any] = {
        "catalog": CatalogItem.Meta,
        "orders": orders_store.OrdersItem.Meta,
        "audit": AuditEntry.Meta,
    }
    for table_key, meta in meta_by_table.items():
        monkeypatch.setattr(meta, "table_name", settings.resource_name(table_key))
        monkeypatch.setattr(meta, "host", settings.aws_endpoint_url)
    for model in (CatalogItem, orders_store.OrdersItem, AuditEntry):
        monkeypatch.setattr(model, "_connection", None)
    reset_services()


def reset_services() -> None:
    from chalicelib.audit import container as audit
    from chalicelib.catalog import container as catalog
    from chalicelib.orders import container as orders

    for factory in (
        catalog.catalog_store,
        catalog.product_index,
        catalog.catalog_service,
        orders.orders_store,
        orders.cart_cache,
        orders.cart_service,
        orders.order_service,
        orders.payment_service,
        audit.audit_log,
    ):
        factory.cache_clear()
