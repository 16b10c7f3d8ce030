"""The commerce consumers against moto (in-process) and a real OpenSearch (osmem), driven with
Lambda's SQS event shape: each event handled twice has one effect, and a message that fails
fails alone (partial batch response) while its neighbours are handled."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice import Chalice

from chalicelib import clients, composition
from chalicelib.config import get_settings
from devstack.services import OpenSearchService, free_port
from tests.support.moto import in_process_aws


@pytest.fixture(scope="module")
def opensearch() -> Iterator[str]:
    service = OpenSearchService()
    service.start()
    yield service.url
    service.stop()


@pytest.fixture
def invoke(opensearch, monkeypatch) -> Iterator[Callable[[str, list[str]], dict[str, Any]]]:
    """Call a handler by name with SQS messages (bodies); the tables, queues and index exist."""
    redis_url = f"redis://127.0.0.1:{free_port()}/0"
    with in_process_aws(monkeypatch, "consumers", OPENSEARCH_URL=opensearch, REDIS_URL=redis_url) as settings:
        from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
        from chalicelib.audit.handlers import handlers as audit_handlers
        from chalicelib.catalog.handlers import handlers as catalog_handlers
        from chalicelib.orders.container import orders
        from chalicelib.orders.handlers import handlers as orders_handlers
        from devstack import bootstrap

        for key in ("catalog", "orders", "audit"):
            bootstrap.create_table(resources.TABLES[key], settings)
        bootstrap.bootstrap_search(settings)
        composition.wire(settings)
        # Built now, which binds their tables: a test below also writes an order item itself.
        orders()
        app = Chalice("consumers-test")
        for blueprint in (catalog_handlers, orders_handlers, audit_handlers):
            app.register_blueprint(blueprint)

        def call(name: str, bodies: list[str]) -> dict[str, Any]:
            records = [
                {
                    "messageId": f"m{n}",
                    "receiptHandle": f"r{n}",
                    "body": body,
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                    "awsRegion": "us-east-1",
                }
                for n, body in enumerate(bodies)
            ]
            return app.handler_map[name]({"Records": records}, None)

        yield call
    composition.wire()


def bus_message(event_type: str, data: dict[str, Any], event_id: str | None = None) -> str:
    envelope = {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": "2026-01-02T03:04:05.006Z",
        "correlation_id": "c-1",
        "data": data,
    }
    return json.dumps({"version": "0", "detail-type": event_type, "source": "test", "detail": envelope})


def test_the_stock_refresh_brings_a_stale_product_up_to_date_once(invoke):
    from chalicelib.catalog.container import catalog
    from chalicelib.catalog.indexer import IndexWrite
    from chalicelib.catalog.products import Product
    from chalicelib.catalog.store import Category

    store = catalog().store
    store.create_category(Category("lamps", "Lamps"))
    data = {"title": "Desk lamp", "category": "lamps", "price": 20.0}
    first = store.put_product(Product.from_json(41, {**data, "stock": 9}), replace=False)
    # The index saw version 1; the stream's batch for version 2 (stock 2) was lost.
    assert catalog().index.apply([IndexWrite(41, 1, first.index_source())]) == set()
    store.put_product(Product.from_json(41, {**data, "stock": 2}), replace=True)

    order_event = bus_message("order.created", {"order_id": "o1", "items": [{"product_id": 41, "quantity": 7}]})
    result = invoke("refresh_stock", [order_event, "not json", order_event])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    indexed = clients.opensearch().get(index=catalog().index.alias, id="41")
    assert (indexed["_version"], indexed["_source"]["stock"]) == (2, 2)

    assert invoke("refresh_stock", [order_event]) == {"batchItemFailures": []}
    assert clients.opensearch().get(index=catalog().index.alias, id="41")["_version"] == 2


def _order(order_id: str, email: str) -> None:
    from chalicelib.orders.store import HistoryEntry, OrderItem

    now = time.time()
    OrderItem(
        *OrderItem.key(order_id),
        order_id=order_id,
        user_id="u1",
        email=email,
        status="pending_payment",
        lines=json.dumps(
            [{"product_id": 1, "title": "Lamp", "price_cents": 2000, "quantity": 2, "line_total_cents": 4000}]
        ),
        total_cents=4000,
        currency="usd",
        history=[HistoryEntry(status="pending_payment", at=now, by="u1")],
        created_at=now,
        updated_at=now,
        gsi1pk="USER#u1",
        gsi1sk=f"ORDER#{int(now * 1000):013d}#{order_id}",
    ).save()


def _sent() -> int:
    return int(clients.aws("ses").get_send_quota()["SentLast24Hours"])


def test_one_confirmation_per_order_however_often_the_event_comes(invoke):
    _order("ord_a", "a@example.com")
    created = bus_message("order.created", {"order_id": "ord_a"})
    # The sender is not verified yet: SES refuses, the message fails alone and is not marked done.
    unverified = invoke("confirm_orders", [created, bus_message("cart.updated", {"user_id": "u1"})])
    assert unverified == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert _sent() == 0

    clients.aws("ses").verify_email_identity(EmailAddress=get_settings().mail_from)
    assert invoke("confirm_orders", [created]) == {"batchItemFailures": []}
    assert invoke("confirm_orders", [created, created]) == {"batchItemFailures": []}
    assert _sent() == 1


def test_the_audit_log_keeps_one_entry_per_event(invoke):
    from chalicelib.audit.container import audit

    event_id = str(uuid.uuid4())
    paid = bus_message("payment.processed", {"user_id": "u7", "status": "succeeded"}, event_id)
    assert invoke("record_audit_events", [paid, '{"detail-type": "x", "detail": {}}', paid]) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
    assert invoke("record_audit_events", [paid]) == {"batchItemFailures": []}
    day = audit().log.day("2026-01-02", None, 100, None)
    assert [(e["event_id"], e["type"], e["subject"]) for e in day["items"]] == [(event_id, "payment.processed", "u7")]
