"""The orders table's stream is the context's outbox; the confirmation mailer consumes its events.

Every committed change becomes its event, at least once, even if the request that made it
died a moment later: a cart change → `cart.updated` (and its cached copy is dropped again,
closing the window in which a slow reader could have cached the old cart); a new order →
`order.created`; a status change → `order.status_changed`; a payment → `payment.processed`;
a refund → `payment.refunded`. Event ids derive from the stream record, so a redelivered
record republishes the same event.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chalice import Blueprint

from chalicelib import batch, events
from chalicelib.batch import Policy
from chalicelib.events.delivery import consume
from chalicelib.jsonlog import get_logger
from chalicelib.orders.container import orders
from chalicelib.orders.model import Order
from chalicelib.orders.resources import CONFIRMATION_QUEUE
from chalicelib.resources import queue_name, stream_arn

handlers = Blueprint(__name__)
log = get_logger("orders")

CONFIRMATION_CONSUMER = "order-confirmation"
# Long enough to send one email; a delivery that died holding the claim gives it up then.
CLAIM_HOLD_S = 60
INBOX_KEEP_S = 7 * 24 * 3600


def _items(image: dict[str, Any]) -> list[dict[str, int]]:
    return [
        {"product_id": int(line["product_id"]), "quantity": int(line["quantity"])}
        for line in json.loads(image.get("lines") or "[]")
    ]


def event_of(record: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(type, data) of the domain event a stream record of the orders table stands for, if any."""
    stream = record["dynamodb"]
    kind, _, key = batch.image(stream["Keys"])["pk"].partition("#")
    new, old = batch.image(stream.get("NewImage")), batch.image(stream.get("OldImage"))
    if kind == "CART":
        user_id = key
        items = _items(new) if new else []
        return "cart.updated", {
            "user_id": user_id,
            "items": items,
            "total_quantity": sum(i["quantity"] for i in items),
        }
    if kind == "ORDER" and new and "status" in new:
        data = {
            "order_id": new.get("order_id"),
            "user_id": new.get("user_id"),
            "items": _items(new),
            "total_cents": new.get("total_cents"),
            "currency": new.get("currency"),
        }
        if not old:
            return "order.created", {**data, "status": new["status"]}
        if old.get("status") != new["status"]:
            return "order.status_changed", {**data, "from": old.get("status"), "to": new["status"]}
        return None
    if kind == "PAYMENT" and new and "status" in new:
        data = {
            name: new.get(attribute)
            for name, attribute in (
                ("payment_id", "payment_id"),
                ("order_id", "order_id"),
                ("user_id", "user_id"),
                ("amount", "amount_cents"),
                ("currency", "currency"),
                ("status", "status"),
                ("decline_code", "decline_code"),
            )
        }
        if not old:
            return "payment.processed", data
        if new["status"] == "refunded" and old.get("status") != "refunded":
            return "payment.refunded", data
    return None


@handlers.on_dynamodb_record(stream_arn=stream_arn("orders"), batch_size=100, starting_position="TRIM_HORIZON")
def on_orders_change(event: Any) -> dict[str, Any]:
    records = list(event)
    published: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    stale_carts = []
    for record in records:
        try:
            found = event_of(record.to_dict())
        except Exception:
            log.exception("unreadable orders record", extra={"sequence_number": record.sequence_number})
            failed.append(record.sequence_number)
            continue
        if found is None:
            continue
        event_type, data = found
        if event_type == "cart.updated":
            stale_carts.append(orders().cart_cache.key(data["user_id"]))
        published[record.sequence_number] = events.envelope(
            event_type, data, event_id=events.stream_event_id(record.event_id, event_type)
        )
    orders().cart_cache.delete(*stale_carts)
    try:
        refused = events.publish_many(list(published.values()))
    except Exception:
        log.exception("could not publish orders events", extra={"events": len(published)})
        refused = {envelope["id"] for envelope in published.values()}
    failed += [sequence for sequence, envelope in published.items() if envelope["id"] in refused]
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)


@handlers.schedule("rate(1 minute)")
def expire_orders(event: Any) -> dict[str, int]:
    """Unpaid orders past their payment window expire and give their stock back."""
    counts = orders().orders.expire_due()
    log.info("unpaid orders swept", extra=counts)
    return counts


def confirmation_text(order: Order) -> str:
    lines = [f"Thank you for your order {order.order_id}.", ""]
    for line in order.lines:
        price = line.line_total_cents / 100
        lines.append(f"  {line.quantity} x {line.title}  {price:.2f} {order.currency.upper()}")
    lines += ["", f"Total: {order.total_cents / 100:.2f} {order.currency.upper()}", "", "It awaits payment."]
    return "\n".join(lines)


def send_confirmation(event: dict[str, Any]) -> None:
    """One email per order.created event, however often the event is delivered."""
    from chalicelib import mail

    if event["type"] != "order.created":
        return
    store = orders().store
    order = store.order(event["data"]["order_id"])
    if order is None or not order.email:
        log.warning("no address to confirm an order to", extra={"order_id": event["data"]["order_id"]})
        return
    claim = store.claim_event(CONFIRMATION_CONSUMER, event["id"], time.time(), CLAIM_HOLD_S, INBOX_KEEP_S)
    if claim == "done":
        return
    if claim == "busy":
        raise RuntimeError(f"event {event['id']} is being handled by another delivery")
    try:
        mail.send_email(order.email, f"Order {order.order_id} confirmed", confirmation_text(order))
    except Exception:
        # Unsent: give the claim back so the redelivery sends it.
        store.release_event(CONFIRMATION_CONSUMER, event["id"])
        raise
    store.finish_event(CONFIRMATION_CONSUMER, event["id"])


@handlers.on_sqs_message(queue=queue_name(CONFIRMATION_QUEUE), batch_size=10)
def confirm_orders(event: Any) -> dict[str, Any]:
    return consume(event, send_confirmation, CONFIRMATION_CONSUMER)
