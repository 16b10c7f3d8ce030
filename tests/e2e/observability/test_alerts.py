"""Alerts over HTTP: a rule on level:error count > 5 in 1 minute fires once after the sixth error,
stays quiet while it holds, and resolves once the errors leave the window; both transitions
reach the email and the webhook channel exactly once. The evaluator is fired through the
local cloud's control surface (its minute schedule runs too: the transitions cannot double)."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import requests

from tests.e2e.users import new_user
from tests.support.stack import wait_for

# The errors are stamped this long ago, so they leave the 1-minute window 10 s after shipping.
AGE_S = 50


def evaluate(stack) -> None:
    response = requests.post(f"{stack.endpoints['control']}/schedules/evaluate_alerts", timeout=10)
    assert response.status_code == 202


def mail_to(stack, address: str) -> list[dict[str, Any]]:
    messages = requests.get(f"{stack.endpoints['control']}/outbox", timeout=10).json()["messages"]
    return [m for m in messages if address in m["to"]]


CONFIRM_LINK = re.compile(r"/api/v1/alerts/recipients/confirm\?token=(\S+)")


def verified_recipient(api, stack, owner: dict[str, str], address: str) -> None:
    """Add `address` as a recipient and open the link mailed to it, as its owner would."""
    added = api.post("/api/v1/alerts/recipients/", json={"email": address}, headers=owner)
    assert added.status_code == 202 and added.json()["verified"] is False, added.text
    (mail,) = wait_for(lambda: mail_to(stack, address))
    token = CONFIRM_LINK.search(mail["body"]).group(1)
    page = api.get(f"/api/v1/alerts/recipients/confirm?token={token}")
    assert page.status_code == 200 and '<form method="post">' in page.text
    confirmed = api.post("/api/v1/alerts/recipients/confirm", data={"token": token})
    assert confirmed.status_code == 200, confirmed.text


def ship_errors(api, headers: dict[str, str], stamp: str, count: int, expected_total: int) -> None:
    events = [
        {"timestamp": stamp, "level": "error", "service": "checkout", "message": f"payment declined {n}"}
        for n in range(count)
    ]
    assert api.post("/api/v1/logs/", json=events, headers=headers).status_code == 202

    def indexed() -> bool:
        found = api.get("/api/v1/logs/search/", params={"level": "error", "from": "now-5m"}, headers=headers)
        return found.json()["total"] == expected_total

    wait_for(indexed, timeout_s=15, interval_s=0.1)


def test_six_errors_in_a_minute_fire_once_and_resolve_once(api, stack, receiver):
    owner = new_user(api, "oncall")
    inbox = f"oncall-{uuid.uuid4().hex[:8]}@example.com"
    path = f"/alerts-{uuid.uuid4().hex[:8]}"
    rule = {
        "name": "checkout errors",
        "query": {"level": ["error"]},
        "window": "1m",
        "comparison": ">",
        "threshold": 5,
        "channels": [{"type": "email", "to": inbox}, {"type": "webhook", "url": receiver.url + path}],
    }
    verified_recipient(api, stack, owner, inbox)
    created = api.post("/api/v1/alerts/", json=rule, headers=owner)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    stamp = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=AGE_S)).isoformat()

    ship_errors(api, owner, stamp, 5, expected_total=5)
    evaluate(stack)
    state = api.get(f"/api/v1/alerts/{rule_id}", headers=owner).json()
    assert state["state"] == "ok" and state["last_value"] == 5

    ship_errors(api, owner, stamp, 1, expected_total=6)
    for _ in range(3):
        evaluate(stack)
    assert api.get(f"/api/v1/alerts/{rule_id}", headers=owner).json()["state"] == "firing"
    (_, fired) = mail_to(stack, inbox)
    assert fired["subject"] == "[FIRING] checkout errors: 6 events (> 5 in 1m)"
    (hook,) = receiver.to(path)
    assert hook.body["status"] == "firing" and hook.body["value"] == 6 and hook.body["rule_id"] == rule_id

    def resolved() -> bool:
        evaluate(stack)
        return api.get(f"/api/v1/alerts/{rule_id}", headers=owner).json()["state"] == "ok"

    wait_for(resolved, timeout_s=20, interval_s=0.5)
    evaluate(stack)
    assert [m["subject"].split("]")[0] for m in mail_to(stack, inbox)[1:]] == ["[FIRING", "[RESOLVED"]
    assert [d.body["status"] for d in receiver.to(path)] == ["firing", "resolved"]

    (event,) = api.get(f"/api/v1/alerts/{rule_id}/events", headers=owner).json()["items"]
    assert event["status"] == "resolved" and event["open_value"] == 6 and event["resolve_value"] == 0
    assert [(n["transition"], n["channel"].split(":")[0], n["ok"]) for n in event["notifications"]] == [
        ("firing", "email", True),
        ("firing", "webhook", True),
        ("resolved", "email", True),
        ("resolved", "webhook", True),
    ]


def test_rules_are_validated_and_private(api):
    owner, other = new_user(api, "ruler"), new_user(api, "stranger")
    own_email = api.get("/api/v1/users/profile/", headers=owner).json()["email"]
    rule = {
        "name": "slow",
        "query": {"q": "timeout", "service": ["api"]},
        "window": "5m",
        "comparison": ">=",
        "threshold": 10,
        "channels": [{"type": "email", "to": own_email}],
    }
    for change, path in (
        ({"window": "2d"}, "$.window"),
        ({"comparison": "=="}, "$.comparison"),
        ({"channels": [{"type": "webhook", "url": "http://169.254.169.254/latest"}]}, "$.channels[0].url"),
        ({"channels": [{"type": "email", "to": "not-an-address"}]}, "$.channels[0].to"),
        ({"channels": [{"type": "email", "to": "stranger@example.com"}]}, "$.channels[0].to"),
        ({"channels": []}, "$.channels"),
    ):
        refused = api.post("/api/v1/alerts/", json={**rule, **change}, headers=owner)
        assert refused.status_code == 400 and path in {e["path"] for e in refused.json()["errors"]}, refused.text
    rule_id = api.post("/api/v1/alerts/", json=rule, headers=owner).json()["id"]
    assert api.get("/api/v1/alerts/", headers=owner).json()["items"][0]["id"] == rule_id
    for method, suffix in (("get", ""), ("get", "/events"), ("delete", "")):
        assert getattr(api, method)(f"/api/v1/alerts/{rule_id}{suffix}", headers=other).status_code == 404
    webhook_only = {**rule, "channels": [{"type": "webhook", "url": "https://hooks.example.com/x"}]}
    assert api.put(f"/api/v1/alerts/{rule_id}", json=webhook_only, headers=other).status_code == 404
    disabled = api.put(f"/api/v1/alerts/{rule_id}", json={**rule, "enabled": False}, headers=owner).json()
    assert disabled["enabled"] is False and disabled["state"] == "ok"
    assert api.delete(f"/api/v1/alerts/{rule_id}", headers=owner).status_code == 204
    assert api.get(f"/api/v1/alerts/{rule_id}/events", headers=owner).status_code == 404
