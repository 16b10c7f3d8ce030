"""A stack with a data folder lives three lives: it is written to through the API and killed with
SIGKILL (its whole process group), started again on the same folder, stopped cleanly, and
started once more. After each restart every acknowledged write is back, search answers the
same, queued messages are still queued, and nothing is emailed or published twice."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.e2e.shop import fresh_products
from tests.e2e.users import PASSWORD, login
from tests.support.plans import plan
from tests.support.stack import Stack, durable_stack, wait_for

ADMIN = {"username": "durable-admin", "password": "Quartz-meadow-4-violin"}
PREFIX = "sp-local"
# Queues some handler reads: empty once the stack has done all it was given.
CONSUMED = ("catalog-stock", "order-confirmations", "audit", "logs", "tasks")
VEHICLE = {
    "type": "object",
    "required": ["objectId", "make"],
    "properties": {"objectId": {"type": "string"}, "make": {"type": "string"}, "seats": {"type": "integer"}},
}
WELL_BABY = {
    "query": {
        "has_child": {
            "type": "linkedPlanServices",
            "query": {"has_child": {"type": "linkedService", "query": {"match_phrase": {"name": "well baby"}}}},
        }
    }
}


def life(data: Path) -> Stack:
    return durable_stack(data, ADMIN)


def quiet(stack: Stack) -> None:
    """Every stream handler has had every write, and every consumed queue is empty."""
    sqs = stack.aws("sqs")

    def queued(name: str) -> int:
        url = sqs.get_queue_url(QueueName=f"{PREFIX}-{name}")["QueueUrl"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"])

    for _ in range(2):
        stack.settle()
        wait_for(lambda: not any(map(queued, CONSUMED)), timeout_s=30, interval_s=0.1)


def published_events(stack: Stack) -> int:
    """Domain events so far: the `events` queue is a tap nobody consumes (`make events` reads it)."""
    sqs = stack.aws("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-events")["QueueUrl"]
    return int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
    )


def outbox(api: Api, stack: Stack) -> list[tuple[str, str, str]]:
    messages = api.get(stack.endpoints["control"][len(api.base_url) :] + "/outbox").json()["messages"]
    return sorted((",".join(m["to"]), m["subject"], m["body"]) for m in messages)


class World:
    """What the first life wrote, and how to read it back."""

    def __init__(self) -> None:
        self.alice = f"alice{uuid.uuid4().hex[:6]}"
        self.plans: list[dict[str, Any]] = []
        self.products: list[dict[str, Any]] = []
        self.api_key = ""
        self.probe_ids: list[str] = []

    def write(self, api: Api, stack: Stack) -> None:
        register = {
            "username": self.alice,
            "email": f"{self.alice}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        }
        assert api.post("/api/v1/users/register/", json=register).status_code == 201
        alice, admin = login(api, self.alice, PASSWORD), login(api, ADMIN["username"], ADMIN["password"])
        key = api.post(
            "/api/v1/api-keys/", json={"name": "shipper", "scopes": ["logs:write", "profile:read"]}, headers=alice
        )
        self.api_key = key.json()["key"]

        self.plans = [plan(services=((f"Service {n}", n), ("Well baby", 5))) for n in range(3)] + [plan()]
        for document in self.plans:
            assert api.post("/api/v1/plans", json=document, headers=alice).status_code == 201
        changed, gone = self.plans[0], self.plans.pop()
        etag = api.get(f"/api/v1/plans/{changed['objectId']}", headers=alice).headers["ETag"]
        patch = {"planType": "outOfNetwork"}
        assert api.patch(f"/api/v1/plans/{changed['objectId']}", json=patch, headers={**alice, "If-Match": etag}).ok
        etag = api.get(f"/api/v1/plans/{gone['objectId']}", headers=alice).headers["ETag"]
        assert api.delete(f"/api/v1/plans/{gone['objectId']}", headers={**alice, "If-Match": etag}).status_code == 204
        assert api.post("/api/v1/schemas/vehicle", json=VEHICLE, headers=admin).status_code == 201
        vehicle = {"objectId": "v1", "make": "Volvo", "seats": 7}
        assert api.post("/api/v1/documents/vehicle", json=vehicle, headers=alice).status_code == 201

        _, self.products = fresh_products(12, stock=5)
        assert api.post("/api/v1/admin/ingest", json={"products": self.products}, headers=admin).ok
        cart = {"product_id": self.products[0]["id"], "quantity": 2}
        assert api.post("/api/v1/cart/add/", json=cart, headers=alice).ok
        order = api.post("/api/v1/orders/", headers=alice).json()
        payment = {"order_id": order["id"], "payment_method_id": "pm_card_visa"}
        paid = api.post("/api/v1/payments/process/", json=payment, headers={**alice, "Idempotency-Key": order["id"]})
        assert paid.ok, paid.text
        assert api.post("/api/v1/users/password-reset/", json={"email": f"{self.alice}@example.com"}).status_code == 202
        later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).isoformat()
        task = {"name": "tomorrow", "kind": "report", "scheduled_at": later}
        assert api.post("/api/v1/tasks/", json=task, headers=alice).status_code == 201

        now = datetime.datetime.now(datetime.UTC)
        lines = [
            {
                "timestamp": (now - datetime.timedelta(seconds=n)).isoformat(),
                "level": "error",
                "service": "api",
                "message": f"timeout {n}",
            }
            for n in range(25)
        ]
        shipped = api.post(
            "/api/v1/logs/",
            data="\n".join(map(json.dumps, lines)).encode(),
            headers={"X-API-Key": self.api_key, "Content-Type": "application/x-ndjson"},
        )
        assert shipped.status_code == 202

        # Messages nobody consumes: a queue made through the AWS API, and one in a DLQ.
        sqs = stack.aws("sqs")
        probe = sqs.create_queue(QueueName="durable-probe")["QueueUrl"]
        dlq = sqs.get_queue_url(QueueName=f"{PREFIX}-events-dlq")["QueueUrl"]
        sent = [sqs.send_message(QueueUrl=probe, MessageBody=f"m{n}") for n in range(3)]
        sent.append(sqs.send_message(QueueUrl=dlq, MessageBody="poison"))
        self.probe_ids = sorted(message["MessageId"] for message in sent)

    def answers(self, api: Api, stack: Stack) -> dict[str, Any]:
        alice, admin = login(api, self.alice, PASSWORD), login(api, ADMIN["username"], ADMIN["password"])

        def etag(url: str) -> str:
            response = api.get(url, headers=alice)
            assert response.status_code == 200, url
            return response.headers["ETag"]

        def logs() -> int:
            return api.get("/api/v1/logs/search/", params={"q": "timeout", "from": "now-1h"}, headers=alice).json()[
                "total"
            ]

        product_ids = [product["id"] for product in self.products]
        return {
            "profile": api.get("/api/users/profile/", headers={"X-API-Key": self.api_key}).json()["username"],
            "plans": {p["objectId"]: etag(f"/api/v1/plans/{p['objectId']}") for p in self.plans},
            "vehicle": etag("/api/v1/documents/vehicle/v1"),
            "well_baby": sorted(
                h["_id"] for h in api.post("/api/v1/search", json=WELL_BABY, headers=alice).json()["hits"]["hits"]
            ),
            # Sorted: relevance order is the engine's business (assert on sets, never on scores).
            "plan_text": sorted(
                (item["plan_id"], sorted(match["objectId"] for match in item["matches"]))
                for item in api.get("/api/v1/plans/search", params={"q": "baby"}, headers=alice).json()["items"]
            ),
            "products": {p: api.get(f"/api/v1/products/{p}").json()["stock"] for p in product_ids},
            "product_search": api.get("/api/v1/products", params={"category": self.products[0]["category"]}).json()[
                "total"
            ],
            "orders": [(o["id"], o["status"]) for o in api.get("/api/v1/orders/", headers=alice).json()["items"]],
            "tasks": [(t["id"], t["status"]) for t in api.get("/api/v1/tasks/", headers=alice).json()["items"]],
            "logs": logs(),
            "is_admin": api.get("/api/v1/admin/audit", headers=admin).status_code,
        }

    def pending(self, stack: Stack) -> list[str]:
        sqs = stack.aws("sqs")
        ids = []
        for name in ("durable-probe", f"{PREFIX}-events-dlq"):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            # Visibility 0: reading them here keeps them pending for the next life.
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            ids += [m["MessageId"] for m in received.get("Messages", [])]
        return sorted(ids)


@pytest.fixture(scope="module")
def first_life(tmp_path_factory) -> Iterator[tuple[Path, World, dict[str, Any]]]:
    data = tmp_path_factory.mktemp("devstack-data")
    world = World()
    stack = life(data)
    try:
        with Api(stack.endpoints["api"]) as api:
            world.write(api, stack)
            quiet(stack)
            seen = {
                "answers": world.answers(api, stack),
                "outbox": outbox(api, stack),
                "events": published_events(stack),
            }
            # Acknowledged a moment before the kill, no time to settle: still there afterwards.
            last = world.products[-1]["id"]
            admin = login(api, ADMIN["username"], ADMIN["password"])
            assert api.patch(f"/api/v1/products/{last}", json={"stock": 99}, headers=admin).ok
            seen["answers"]["products"][last] = 99
    finally:
        stack.kill()
    yield data, world, seen


@pytest.fixture(scope="module")
def second_life(first_life) -> Iterator[Stack]:
    data, _, _ = first_life
    stack = life(data)
    yield stack
    stack.stop()


def assert_all_back(stack: Stack, world: World, seen: dict[str, Any]) -> None:
    """The same answers, the same queued messages, and not one email or event more."""
    with Api(stack.endpoints["api"]) as api:
        # The search indexes are rebuilt while the API already answers; the runtime starts after,
        # and the log indexer takes back the log batches consumed since the last snapshot.
        quiet(stack)
        assert world.answers(api, stack) == seen["answers"]
        assert world.pending(stack) == world.probe_ids
        assert outbox(api, stack) == seen["outbox"]
        assert published_events(stack) == seen["events"]


def test_after_kill_9_every_acknowledged_write_is_back_and_nothing_is_sent_twice(first_life, second_life):
    _, world, seen = first_life
    state = second_life.logs("state restored")[0]
    assert state["journals"] and state["items"] > 0
    assert_all_back(second_life, world, seen)


def test_after_a_clean_stop_the_snapshot_alone_brings_everything_back(first_life, second_life):
    data, world, seen = first_life
    assert second_life.stop() == 0
    kept = sorted(path.name for path in (data / "state").iterdir())
    assert len(kept) == 2 and kept[0].startswith("journal-") and kept[1].startswith("snapshot-")
    assert (data / "state" / kept[0]).stat().st_size == 0, "a clean stop leaves nothing to replay"
    third = life(data)
    try:
        assert_all_back(third, world, seen)
    finally:
        third.stop()
