"""The tasks seed (003, FastAPI): its README's curl lines, `curl -k https://127.0.0.1:8000/...`.

Only the base URL changes (plain HTTP here; `make run HTTPS=1` serves the same on TLS), plus
a token of a fresh account and the ids the answers hand back.
"""

from __future__ import annotations

import datetime

from tests.compat.accounts import bearer, fresh
from tests.support.stack import wait_for

CREATE = """curl -k -X POST $B/api/v1/tasks/ -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" \\
  -d '{"name": "$NAME", "scheduled_at": "$AT"}'"""
STATUS = 'curl -k $B/api/v1/tasks/$ID/status/ -H "Authorization: Bearer $TOKEN"'
CANCEL = 'curl -k -X POST $B/api/v1/tasks/$ID/cancel/ -H "Authorization: Bearer $TOKEN"'


def token_of(curl) -> str:
    return bearer(curl, fresh("tasks"))["Authorization"].removeprefix("Bearer ")


def later(seconds: float) -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)).isoformat()


def test_health_components_as_the_seed_client_reads_them(curl):
    report = curl("curl -k $B/health").json()
    assert report["components"] == {"database": True, "redis": True}
    assert report["checks"]["dynamodb"]["status"] == "up"


def test_create_pending_running_completed_with_the_seed_body(curl, api, admin):
    token = token_of(curl)
    created = curl(CREATE, TOKEN=token, NAME="send-report", AT=later(3))
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["status"], task["kind"]) == ("pending", "record")
    seen = {curl(STATUS, TOKEN=token, ID=task["id"]).json()["status"]}

    def finished():
        status = curl(STATUS, TOKEN=token, ID=task["id"]).json()
        seen.add(status["status"])
        return status["status"] == "completed"

    wait_for(finished, timeout_s=30, interval_s=0.2)
    done = api.get(f"/api/v1/tasks/{task['id']}", headers={"Authorization": f"Bearer {token}"}).json()
    assert [h["status"] for h in done["history"]] == ["pending", "queued", "running", "completed"]
    assert done["result"]["task"] == "send-report"
    # The completion is published as task.completed, which the audit trail records.

    def audited():
        page = api.get("/api/v1/admin/audit", params={"type": "task.completed", "limit": 100}, headers=admin)
        return [e for e in page.json()["items"] if e["data"]["task_id"] == task["id"]]

    event = wait_for(audited, timeout_s=30, interval_s=0.2)[0]
    assert event["data"]["result"] == done["result"]
    listed = curl('curl -k $B/api/v1/tasks/ -H "Authorization: Bearer $TOKEN"', TOKEN=token).json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]


def test_create_then_cancel_with_the_seed_body(curl):
    token = token_of(curl)
    task = curl(CREATE, TOKEN=token, NAME="later", AT=later(3600)).json()
    cancelled = curl(CANCEL, TOKEN=token, ID=task["id"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert curl(STATUS, TOKEN=token, ID=task["id"]).json()["status"] == "cancelled"
    assert curl(CANCEL, TOKEN=token, ID=task["id"]).status_code == 409


def test_empty_ids_are_404(curl):
    token = token_of(curl)
    assert curl(STATUS, TOKEN=token, ID="").status_code == 404
    assert curl(CANCEL, TOKEN=token, ID="").status_code == 404
