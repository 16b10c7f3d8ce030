"""Logs over HTTP: ship 1,000 lines with an API key, search them by text, level, service and
time window, page through them, see a dashboard agree, and find the API's own request logs."""

from __future__ import annotations

import datetime
import json
import statistics
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN, Api
from tests.e2e.users import login, new_user
from tests.support.stack import wait_for

LINES = 1000
STEP_S = 3
SERVICES = ("api", "worker", "billing")


def level_of(n: int) -> str:
    return "error" if n % 10 == 0 else "warn" if n % 10 in (1, 2) else "info"


def line(base: datetime.datetime, n: int) -> dict[str, Any]:
    return {
        "timestamp": (base + datetime.timedelta(seconds=n * STEP_S)).isoformat(),
        "level": level_of(n).upper() if n % 7 == 0 else level_of(n),
        "service": SERVICES[n % 3],
        "message": f"request {n} " + ("timeout talking to the database" if n % 25 == 0 else "served"),
        "latency_ms": n % 100,
        "host": f"web-{n % 4}",
    }


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


class Shipped:
    def __init__(self, base: datetime.datetime, headers: dict[str, str]) -> None:
        self.base = base
        self.headers = headers
        self.numbers = range(LINES)

    @property
    def window(self) -> dict[str, str]:
        return {"from": iso(self.base), "to": iso(self.base + datetime.timedelta(seconds=LINES * STEP_S))}

    def count(self, keep) -> int:
        return sum(1 for n in self.numbers if keep(n))


@pytest.fixture(scope="module")
def shipped(stack) -> Shipped:
    """1,000 lines over the last 50 minutes, shipped as NDJSON with a logs:write API key."""
    with Api(stack.endpoints["api"]) as api:
        owner = new_user(api, "logs")
        key = api.post("/api/v1/api-keys/", json={"name": "shipper", "scopes": ["logs:write"]}, headers=owner)
        shipper = {"X-API-Key": key.json()["key"]}
        base = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(minutes=55)
        body = "\n".join(json.dumps(line(base, n)) for n in range(LINES))
        ndjson = {**shipper, "Content-Type": "application/x-ndjson"}
        response = api.post("/api/v1/logs/", data=body.encode(), headers=ndjson)
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": LINES, "rejected": 0, "errors": []}
        shipped = Shipped(base, owner)

        def indexed() -> bool:
            found = api.get("/api/v1/logs/search/", params={**shipped.window, "limit": 1}, headers=owner).json()
            return found["total"] == LINES

        wait_for(indexed, timeout_s=20, interval_s=0.2)
        assert api.get("/api/v1/logs/search/", headers=shipper).status_code == 403
        return shipped


def search(api: Api, shipped: Shipped, **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/logs/search/", params={**shipped.window, **params}, headers=shipped.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_search_by_text_level_service_and_window_counts_right(api, shipped):
    everything = search(api, shipped, limit=5)
    assert everything["total"] == LINES
    assert everything["levels"] == Counter(level_of(n) for n in shipped.numbers)
    assert everything["services"] == Counter(SERVICES[n % 3] for n in shipped.numbers)
    assert sum(bucket["count"] for bucket in everything["histogram"]["buckets"]) == LINES
    stamps = [hit["timestamp"] for hit in everything["hits"]]
    assert stamps == sorted(stamps, reverse=True) and everything["hits"][0]["message"] == "request 999 served"

    timeouts = shipped.count(lambda n: n % 25 == 0)
    assert search(api, shipped, q="timeout")["total"] == timeouts
    assert search(api, shipped, level="error")["total"] == shipped.count(lambda n: level_of(n) == "error")
    assert search(api, shipped, q="timeout", level="error")["total"] == shipped.count(lambda n: n % 50 == 0)
    assert search(api, shipped, level="warning,error", service="billing")["total"] == shipped.count(
        lambda n: level_of(n) != "info" and n % 3 == 2
    )
    assert search(api, shipped, q="host:web-1 AND latency_ms.num:[90 TO 99]")["total"] == shipped.count(
        lambda n: n % 4 == 1 and n % 100 >= 90
    )
    # Lines 100 to 299 by their timestamps: [from, to) never counts the boundary twice.
    slice_window = {
        "from": iso(shipped.base + datetime.timedelta(seconds=100 * STEP_S)),
        "to": iso(shipped.base + datetime.timedelta(seconds=300 * STEP_S)),
    }
    sliced = search(api, shipped, **slice_window)
    assert sliced["total"] == 200 and sum(sliced["levels"].values()) == 200


def test_pages_of_hits_follow_each_other_newest_first(api, shipped):
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = search(api, shipped, level="error", limit=30, **({"cursor": cursor} if cursor else {}))
        seen += page["hits"]
        cursor = page["next"]
        if not cursor:
            break
    errors = shipped.count(lambda n: level_of(n) == "error")
    assert len(seen) == errors and len({hit["id"] for hit in seen}) == errors
    assert [hit["timestamp"] for hit in seen] == sorted((hit["timestamp"] for hit in seen), reverse=True)
    assert "owner" not in seen[0] and seen[0]["host"].startswith("web-")


def test_logs_are_private_to_their_owner(api, shipped):
    other = new_user(api, "nosy")
    assert api.get("/api/v1/logs/search/", params=shipped.window, headers=other).json()["total"] == 0
    peek = api.get("/api/v1/logs/search/", params={**shipped.window, "owner": "platform"}, headers=other)
    assert peek.status_code == 403


def test_bad_events_are_rejected_with_their_positions(api, shipped):
    now = datetime.datetime.now(datetime.UTC).isoformat()
    good = {"timestamp": now, "level": "info", "service": "api", "message": "fine"}
    mixed = [good, {**good, "level": "loud"}, {**good, "timestamp": "2030-13-01"}, {**good, "owner": "someone"}, good]
    response = api.post("/api/v1/logs/", json=mixed, headers=shipped.headers)
    assert response.status_code == 207
    summary = response.json()
    assert summary["accepted"] == 2 and summary["rejected"] == 3
    assert [(e["index"], e["errors"][0]["path"]) for e in summary["errors"]] == [
        (1, "$.level"),
        (2, "$.timestamp"),
        (3, "$.owner"),
    ]
    none = api.post(
        "/api/v1/logs/",
        data=b'{"level": "info"}\nnot json\n',
        headers={**shipped.headers, "Content-Type": "application/x-ndjson"},
    )
    assert none.status_code == 400 and none.headers["Content-Type"] == "application/problem+json"
    assert {e["path"] for e in none.json()["errors"]} >= {"$[0]", "$[1]"}
    assert (
        api.post("/api/v1/logs/", data=b"hello", headers={**shipped.headers, "Content-Type": "text/plain"}).status_code
        == 415
    )
    assert api.post("/api/v1/logs/", json=[good]).status_code == 401


def test_a_dashboard_agrees_with_the_search(api, shipped):
    timeouts = [n for n in shipped.numbers if n % 25 == 0]
    dashboard = {
        "name": "service health",
        "widgets": [
            {"title": "errors", "query": {"level": ["error"]}, "view": {"type": "count_over_time", "interval": "5m"}},
            {"title": "busiest", "view": {"type": "top_terms", "field": "service", "n": 2}},
            {
                "title": "timeout latency",
                "query": {"q": "timeout"},
                "view": {"type": "stat", "stat": "avg", "field": "latency_ms"},
            },
            {"title": "warnings", "query": {"level": ["warning"]}, "view": {"type": "stat", "stat": "count"}},
        ],
    }
    created = api.post("/api/v1/dashboards/", json=dashboard, headers=shipped.headers)
    assert created.status_code == 201, created.text
    dashboard_id = created.json()["id"]
    data = api.get(f"/api/v1/dashboards/{dashboard_id}/data", params=shipped.window, headers=shipped.headers).json()
    errors, busiest, latency, warnings = data["widgets"]

    assert sum(errors["values"]) == errors["total"] == search(api, shipped, level="error")["total"]
    assert len(errors["labels"]) == len(errors["values"]) >= 10
    services = search(api, shipped, limit=1)["services"]
    top = sorted(services.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    assert dict(zip(busiest["labels"], busiest["values"], strict=True)) == dict(top)
    assert busiest["other"] == LINES - sum(v for _, v in top)
    assert latency["value"] == pytest.approx(statistics.mean(n % 100 for n in timeouts)) and latency["count"] == len(
        timeouts
    )
    assert warnings["value"] == search(api, shipped, level="warn")["total"]

    listed = api.get("/api/v1/dashboards/", headers=shipped.headers).json()
    assert dashboard_id in {d["id"] for d in listed["items"]}
    read = api.get(f"/api/v1/dashboards/{dashboard_id}", headers=shipped.headers)
    assert (
        api.get(
            f"/api/v1/dashboards/{dashboard_id}", headers={**shipped.headers, "If-None-Match": read.headers["ETag"]}
        ).status_code
        == 304
    )
    renamed = api.put(
        f"/api/v1/dashboards/{dashboard_id}", json={**dashboard, "name": "renamed"}, headers=shipped.headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    other = new_user(api, "peeker")
    assert api.get(f"/api/v1/dashboards/{dashboard_id}/data", headers=other).status_code == 404
    bad = {"name": "x", "widgets": [{"title": "t", "view": {"type": "top_terms", "field": "message"}}]}
    assert (
        api.post("/api/v1/dashboards/", json=bad, headers=shipped.headers).json()["errors"][0]["path"]
        == "$.widgets[0].view.field"
    )
    assert api.delete(f"/api/v1/dashboards/{dashboard_id}", headers=shipped.headers).status_code == 204
    assert api.get(f"/api/v1/dashboards/{dashboard_id}", headers=shipped.headers).status_code == 404


def test_the_api_ships_its_own_request_logs(api):
    request_id = f"e2e-ship-{uuid.uuid4().hex[:12]}"
    api.get("/health/live", headers={"X-Request-Id": request_id})
    admin = login(api, ADMIN["username"], ADMIN["password"])

    def shipped_line() -> list[dict[str, Any]]:
        params = {"owner": "platform", "q": f'request_id:"{request_id}"', "from": "now-5m"}
        return api.get("/api/v1/logs/search/", params=params, headers=admin).json()["hits"]

    (hit,) = wait_for(shipped_line, timeout_s=15, interval_s=0.2)
    assert hit["message"] == "GET /health/live 200" and hit["service"] == "api" and hit["level"] == "info"
    assert hit["status"] == 200 and hit["latency_ms"] >= 0
