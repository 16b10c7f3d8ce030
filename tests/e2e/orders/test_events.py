"""Domain events end to end: published from the orders table's stream, fanned out by the bus to
consumers on their own queues (confirmation mail, stock refresh, audit), each idempotent, and
visible in `make events`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import requests

from tests.e2e.orders.conftest import add, place, user_id
from tests.support.stack import ROOT, wait_for


def audit(api, admin, subject: str, prefix: str = "") -> list[dict]:
    page = api.get("/api/v1/admin/audit", params={"type": prefix, "limit": 100}, headers=admin).json()
    return [entry for entry in page["items"] if entry["subject"] == subject]


def outbox(stack, order_id: str) -> list[dict]:
    messages = requests.get(f"{stack.endpoints['control']}/outbox", timeout=10).json()["messages"]
    return [m for m in messages if order_id in m["subject"]]


def drained(aws, queue: str) -> bool:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(attributes[name] == "0" for name in names)


def redeliver(aws, queue: str, envelope: dict) -> None:
    """The event again, as the bus delivers it: at-least-once delivery made concrete."""
    sqs = aws("sqs")
    body = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": envelope["type"],
        "source": "test",
        "detail": envelope,
    }
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody=json.dumps(body))
    wait_for(lambda: drained(aws, queue), timeout_s=15)


def test_an_order_flow_is_audited_once_per_event_and_confirmed_by_one_email(stack, api, shopper, stocked, admin, aws):
    (product,) = stocked(5)
    owner = user_id(api, shopper)
    add(api, shopper, product["id"], 2)
    order_id = place(api, shopper).json()["id"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"order_id": order_id, "payment_method_id": "pm_card_visa"}
    assert api.post("/api/v1/payments/process/", json=body, headers={**shopper, **key}).status_code == 200

    wanted = {"cart.updated", "order.created", "payment.processed", "order.status_changed"}
    entries = wait_for(lambda: (e := audit(api, admin, owner)) and wanted <= {x["type"] for x in e} and e, 15)
    created = next(e for e in entries if e["type"] == "order.created")
    assert created["data"]["items"] == [{"product_id": product["id"], "quantity": 2}]
    changed = next(e for e in entries if e["type"] == "order.status_changed")
    assert (changed["data"]["from"], changed["data"]["to"]) == ("pending_payment", "paid")
    mails = wait_for(lambda: outbox(stack, order_id), 15)
    assert len(mails) == 1 and "Total: 20.00 USD" in mails[0]["body"]

    # The same order.created delivered again to each consumer: no second email, no second entry.
    envelope = {k: created[k] for k in ("occurred_at", "correlation_id", "data")} | {
        "id": created["event_id"],
        "type": "order.created",
    }
    redeliver(aws, "sp-local-order-confirmations", envelope)
    redeliver(aws, "sp-local-audit", envelope)
    assert len(outbox(stack, order_id)) == 1
    assert len(audit(api, admin, owner, "order.created")) == 1


def test_make_events_prints_each_envelope(stack, api, shopper, stocked):
    (product,) = stocked(5)
    add(api, shopper, product["id"])
    order_id = place(api, shopper).json()["id"]
    port = str(urlsplit(stack.endpoints["api"]).port)
    seen: list[dict] = []

    def printed() -> bool:
        run = subprocess.run(
            [sys.executable, "-m", "devstack.events", "--once", "--type", "order."],
            cwd=ROOT,
            env={**os.environ, "PORT": port, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        seen.extend(json.loads(line) for line in run.stdout.splitlines())
        return any(e["type"] == "order.created" and e["data"]["order_id"] == order_id for e in seen)

    wait_for(printed, timeout_s=20, interval_s=0.5)
    assert all(e["type"].startswith("order.") for e in seen)
    assert {"id", "type", "occurred_at", "correlation_id", "data"} <= set(seen[0])
