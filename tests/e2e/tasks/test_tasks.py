"""Scheduled tasks over HTTP on the local cloud: on time and exactly once, cancelled never runs,
the cancel/run race, retries to failure, the rules of creation, and each kind."""

from __future__ import annotations

import datetime
import itertools
import threading
import uuid
from typing import Any

import pytest
import requests
from opensearchpy import OpenSearch

from chalicelib import declarations  # noqa: F401  (declarations fill the registry)
from chalicelib.resources import SEARCH_INDEXES
from tests.e2e.conftest import ADMIN, Api
from tests.e2e.users import PASSWORD, login
from tests.support.plans import plan
from tests.support.stack import wait_for

TERMINAL = ("completed", "failed", "cancelled")


def account(api: Api, prefix: str) -> tuple[dict[str, str], str]:
    """(auth headers, email) of a new user."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    email = f"{name}@example.com"
    registered = api.post(
        "/api/v1/users/register/", json={"username": name, "email": email, "password": PASSWORD, "password2": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    return login(api, name, PASSWORD), email


@pytest.fixture(scope="module")
def alice(stack) -> dict[str, str]:
    with Api(stack.endpoints["api"]) as session:
        return account(session, "alice")[0]


@pytest.fixture(scope="module")
def admin(stack) -> dict[str, str]:
    with Api(stack.endpoints["api"]) as session:
        return login(session, ADMIN["username"], ADMIN["password"])


def at(seconds: float) -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)).isoformat()


def schedule(api: Api, headers: dict[str, str], in_s: float | None, kind: str = "webhook", **fields: Any) -> dict:
    body = {"name": f"{kind} task", "kind": kind, **fields}
    if in_s is not None:
        body["scheduled_at"] = at(in_s)
    response = api.post("/api/v1/tasks/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def hook(receiver, name: str) -> tuple[str, str]:
    """(path, url) of a fresh receiver endpoint."""
    path = f"/{name}-{uuid.uuid4().hex[:8]}"
    return path, receiver.url + path


def finished(api: Api, headers: dict[str, str], task_id: str) -> dict:
    def done() -> dict | None:
        task = api.get(f"/api/v1/tasks/{task_id}/", headers=headers).json()
        return task if task["status"] in TERMINAL else None

    return wait_for(done, timeout_s=20, interval_s=0.05)


def parse(moment: str) -> float:
    return datetime.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def sweep(stack) -> None:
    assert requests.post(f"{stack.endpoints['control']}/schedules/sweep_tasks", timeout=10).status_code == 202


def test_a_task_for_five_seconds_from_now_runs_on_time_exactly_once(api, stack, alice, receiver):
    path, url = hook(receiver, "on-time")
    task = schedule(api, alice, 5, payload={"url": url, "body": {"hello": "world"}})
    assert task["status"] == "pending"
    # The sweeper and the early dispatcher race for it; one claim wins.
    sweep(stack)
    sweep(stack)

    seen: list[str] = []

    def watch() -> bool:
        status = api.get(f"/api/v1/tasks/{task['id']}/status/", headers=alice).json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        return status in TERMINAL

    wait_for(watch, timeout_s=15, interval_s=0.02)
    done = api.get(f"/api/v1/tasks/{task['id']}", headers=alice).json()
    assert [h["status"] for h in done["history"]] == ["pending", "queued", "running", "completed"]
    assert seen[0] in ("pending", "queued") and seen[-1] == "completed"
    lateness = parse(done["started_at"]) - parse(task["scheduled_at"])
    # started_at has millisecond precision; scheduled_at may have more.
    assert -0.001 <= lateness < 2.0, lateness
    assert done["attempts"] == 1 and done["result"] == {"status": 200, "response": "received"}

    sweep(stack)
    (delivery,) = receiver.to(path)
    assert delivery.body == {"hello": "world"}
    assert delivery.headers["x-task-id"] == delivery.headers["idempotency-key"] == task["id"]


def test_a_cancelled_task_never_runs(api, alice, receiver):
    cancelled_path, cancelled_url = hook(receiver, "cancelled")
    control_path, control_url = hook(receiver, "control")
    task = schedule(api, alice, 2, payload={"url": cancelled_url})
    # Due half a second later: once it has run, the cancelled one would have too.
    control = schedule(api, alice, 2.5, payload={"url": control_url})
    response = api.post(f"/api/v1/tasks/{task['id']}/cancel/", headers=alice)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    assert finished(api, alice, control["id"])["status"] == "completed"
    after = api.get(f"/api/v1/tasks/{task['id']}/status/", headers=alice).json()
    assert after["status"] == "cancelled" and after["attempts"] == 0 and after["started_at"] is None
    assert receiver.to(cancelled_path) == [] and len(receiver.to(control_path)) == 1

    again = api.post(f"/api/v1/tasks/{task['id']}/cancel/", headers=alice)
    assert again.status_code == 409 and again.json()["type"] == "/problems/conflict"
    late = api.post(f"/api/v1/tasks/{control['id']}/cancel/", headers=alice)
    assert late.status_code == 409 and "completed" in late.json()["detail"]


def test_cancel_racing_the_worker_either_cancels_or_runs_once(api, stack, alice, receiver):
    tasks = []
    for _ in range(10):
        path, url = hook(receiver, "race")
        tasks.append((schedule(api, alice, None, run_now=True, payload={"url": url}), path))
    answers: dict[str, int] = {}

    def cancel(task_id: str) -> None:
        with Api(stack.endpoints["api"]) as session:
            answers[task_id] = session.post(f"/api/v1/tasks/{task_id}/cancel/", headers=alice).status_code

    threads = [threading.Thread(target=cancel, args=(task["id"],)) for task, _ in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for task, path in tasks:
        final = finished(api, alice, task["id"])
        if answers[task["id"]] == 200:
            assert final["status"] == "cancelled" and final["attempts"] == 0
            assert receiver.to(path) == []
        else:
            assert answers[task["id"]] == 409
            assert final["status"] == "completed" and len(receiver.to(path)) == 1


def test_a_failing_webhook_is_retried_with_backoff_until_it_fails(api, alice, receiver):
    path, url = hook(receiver, "down")
    receiver.statuses[path] = 503
    task = schedule(api, alice, None, run_now=True, max_attempts=3, payload={"url": url})
    failed = finished(api, alice, task["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert failed["last_error"] == "WebhookFailed: the receiver answered 503"
    assert [h["status"] for h in failed["history"]].count("running") == 3
    deliveries = receiver.to(path)
    assert len(deliveries) == 3 and {d.headers["idempotency-key"] for d in deliveries} == {task["id"]}
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(deliveries)]
    # Backoff from 1 s, doubling, with jitter in the upper half: ≥ 0.5 s then ≥ 1 s.
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0

    refused_path, refused_url = hook(receiver, "gone")
    receiver.statuses[refused_path] = 410
    refused = finished(api, alice, schedule(api, alice, None, run_now=True, payload={"url": refused_url})["id"])
    assert refused["status"] == "failed" and refused["attempts"] == 1
    assert refused["last_error"] == "Permanent: the receiver answered 410"


def test_creation_rules_ownership_and_listing(api, alice):
    past = api.post("/api/v1/tasks/", json={"name": "x", "kind": "report", "scheduled_at": at(-60)}, headers=alice)
    assert past.status_code == 400 and past.json()["errors"][0]["path"] == "$.scheduled_at"
    naive = api.post(
        "/api/v1/tasks/", json={"name": "x", "kind": "report", "scheduled_at": "2031-01-01T10:00:00"}, headers=alice
    )
    assert naive.status_code == 400 and "timezone" in naive.json()["errors"][0]["message"]
    unknown = api.post("/api/v1/tasks/", json={"name": "x", "kind": "nope", "run_now": True}, headers=alice)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["path"] == "$.kind"
    admin_only = api.post("/api/v1/tasks/", json={"name": "x", "kind": "purge_logs", "run_now": True}, headers=alice)
    assert admin_only.status_code == 403
    extra = api.post("/api/v1/tasks/", json={"name": "x", "kind": "report", "run_now": True, "when": 1}, headers=alice)
    assert extra.status_code == 400

    mine = [schedule(api, alice, 3600 + n, kind="report") for n in range(3)]
    api.post(f"/api/v1/tasks/{mine[0]['id']}/cancel/", headers=alice)
    page = api.get("/api/v1/tasks/?limit=2", headers=alice).json()
    assert page["count"] == 2 and page["next"]
    rest = api.get(f"/api/v1/tasks/?limit=100&cursor={page['next']}", headers=alice).json()
    listed = [t["id"] for t in page["items"] + rest["items"]]
    assert len(listed) == len(set(listed)) and {t["id"] for t in mine} <= set(listed)
    cancelled = api.get("/api/v1/tasks/?status=cancelled&limit=100", headers=alice).json()["items"]
    assert mine[0]["id"] in {t["id"] for t in cancelled} and {t["status"] for t in cancelled} == {"cancelled"}
    assert api.get("/api/v1/tasks/?status=done", headers=alice).status_code == 400

    read = api.get(f"/api/v1/tasks/{mine[1]['id']}/", headers=alice)
    assert read.status_code == 200 and read.headers["ETag"]
    assert (
        api.get(f"/api/v1/tasks/{mine[1]['id']}/", headers={**alice, "If-None-Match": read.headers["ETag"]}).status_code
        == 304
    )

    bob = account(api, "bob")[0]
    for method, suffix in (("get", "/"), ("get", "/status/"), ("post", "/cancel/")):
        assert getattr(api, method)(f"/api/v1/tasks/{mine[1]['id']}{suffix}", headers=bob).status_code == 404
    assert api.get("/api/v1/tasks/", headers=bob).json()["count"] == 0

    key = api.post("/api/v1/api-keys/", json={"name": "ci", "scopes": ["tasks:read"]}, headers=alice).json()["key"]
    assert api.get("/api/v1/tasks/", headers={"X-API-Key": key}).status_code == 200
    write = api.post(
        "/api/v1/tasks/", json={"name": "x", "kind": "report", "run_now": True}, headers={"X-API-Key": key}
    )
    assert write.status_code == 403
    kinds = {k["kind"]: k for k in api.get("/api/v1/task-kinds", headers=alice).json()["items"]}
    assert set(kinds) == {"record", "webhook", "reindex", "ingest", "purge_logs", "report"}
    assert [k for k, v in kinds.items() if v["admin_only"]] == ["reindex", "ingest", "purge_logs"]


def test_a_report_emails_the_owner_a_summary(api, stack, receiver):
    headers, email = account(api, "reporter")
    schedule(api, headers, 3600, kind="report")
    task = schedule(api, headers, None, kind="report", run_now=True, payload={"hours": 2})
    done = finished(api, headers, task["id"])
    assert done["status"] == "completed", done["last_error"]
    assert done["result"]["sent_to"] == email and done["result"]["tasks"] == {"pending": 1, "running": 1}
    outbox = requests.get(f"{stack.endpoints['control']}/outbox", timeout=10).json()["messages"]
    (mail,) = [m for m in outbox if m["to"] == [email]]
    assert mail["subject"] == "Your 2 h summary" and "Tasks created: 2" in mail["body"]


def test_administrators_rebuild_the_plan_index_ingest_products_and_purge_old_logs(api, stack, alice, admin):
    search = OpenSearch(hosts=[stack.endpoints["opensearch"]])
    indexes = requests.get(stack.endpoints["control"], timeout=10).json()["resources"]["search_indexes"]
    alias = indexes["documents-plan"]["alias"]
    document = plan(services=(("Physiotherapy sessions", 40),))
    assert api.post("/api/v1/plans", json=document, headers=alice).status_code == 201

    def found() -> int:
        return api.get("/api/v1/plans/search?q=physiotherapy", headers=alice).json()["count"]

    wait_for(found, timeout_s=10)
    # The index is lost and comes back empty but for an object no stored plan has.
    (concrete,) = search.indices.get_alias(name=alias)
    search.indices.delete(index=concrete)
    spec = SEARCH_INDEXES["documents-plan"]
    search.indices.create(index=concrete, body={"mappings": spec.mappings, "aliases": {alias: {}}})
    orphan = {"objectId": "orphan-1", "objectType": "plan", "relation": "plan"}
    search.index(index=alias, id="orphan-1", routing="orphan-1", body=orphan, refresh=True)
    assert found() == 0

    task = schedule(api, admin, None, kind="reindex", run_now=True, payload={"type": "plan"})
    done = finished(api, admin, task["id"])
    assert done["status"] == "completed", done["last_error"]
    assert done["result"]["removed"] >= 1 and done["result"]["documents"] >= 1
    assert found() == 1
    assert not search.exists(index=alias, id="orphan-1", routing="orphan-1")

    products = [
        {"id": 9_700_001 + n, "title": f"Scheduled gadget {n}", "category": "gadgets", "price": 5.0 + n}
        for n in range(3)
    ]
    ingested = finished(
        api, admin, schedule(api, admin, None, kind="ingest", run_now=True, payload={"products": products})["id"]
    )
    assert ingested["status"] == "completed", ingested["last_error"]
    assert ingested["result"]["received"] == 3 and ingested["result"]["created"] + ingested["result"]["updated"] == 3

    old = alias.removesuffix("-documents-plan") + "-logs-2001.01.01"
    search.indices.create(index=old)
    purge = finished(api, admin, schedule(api, admin, None, kind="purge_logs", run_now=True)["id"])
    assert purge["status"] == "completed" and old in purge["result"]["deleted"]
    assert not search.indices.exists(index=old)
