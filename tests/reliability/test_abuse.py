"""Abuse of alert mail (issue 13, item 6): rules mail only addresses their owner has verified,
an owner keeps a bounded number of rules, and one address gets a bounded number of alert mails
an hour however many rules aim at it."""

from __future__ import annotations

import datetime
import re
import uuid

import requests

from tests.e2e.identity import mail_to
from tests.support.stack import wait_for

MAX_RULES, MAILS_PER_HOUR = 20, 10
LINK = re.compile(r"/api/v1/alerts/recipients/confirm\?token=(\S+)")


def rule(to: str, n: int = 0) -> dict:
    return {
        "name": f"flood {n}",
        "query": {"level": ["error"]},
        "window": "10m",
        "comparison": ">",
        "threshold": 0,
        "channels": [{"type": "email", "to": to}],
    }


def test_a_rule_cannot_mail_an_address_that_did_not_agree(api, users, tally):
    stranger = f"{uuid.uuid4().hex[:10]}@example.com"
    refused = api.post("/api/v1/alerts/", json=rule(stranger), headers=users["bob"])
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "$.channels[0].to"
    own = api.get("/api/v1/users/profile/", headers=users["bob"]).json()["email"]
    created = api.post("/api/v1/alerts/", json=rule(own.upper()), headers=users["bob"])
    assert created.status_code == 201, created.text
    api.delete(f"/api/v1/alerts/{created.json()['id']}", headers=users["bob"])
    tally["operations tried"] += 2


def test_many_rules_at_one_address_send_at_most_the_hourly_cap(stack, api, users, tally):
    owner = users["alice"]
    inbox = f"flood-{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/v1/alerts/recipients/", json={"email": inbox}, headers=owner).status_code == 202
    (confirmation,) = wait_for(lambda: mail_to(stack.endpoints["control"], inbox))
    token = LINK.search(confirmation["body"]).group(1)
    assert api.post("/api/v1/alerts/recipients/confirm", json={"token": token}).json()["verified"] is True

    existing = api.get("/api/v1/alerts/", params={"limit": 100}, headers=owner).json()["count"]
    for n in range(MAX_RULES - existing):
        assert api.post("/api/v1/alerts/", json=rule(inbox, n), headers=owner).status_code == 201
    over = api.post("/api/v1/alerts/", json=rule(inbox, MAX_RULES), headers=owner)
    assert over.status_code == 409, over.text

    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    event = {"timestamp": stamp, "level": "error", "service": "flood", "message": "boom"}
    assert api.post("/api/v1/logs/", json=[event], headers=owner).status_code == 202
    wait_for(lambda: api.get("/api/v1/logs/search/", params={"level": "error"}, headers=owner).json()["total"] >= 1)
    assert requests.post(f"{stack.endpoints['control']}/schedules/evaluate_alerts", timeout=30).status_code == 202

    def notified() -> list:
        rules = api.get("/api/v1/alerts/", params={"limit": 100}, headers=owner).json()["items"]
        events = [api.get(f"/api/v1/alerts/{item['id']}/events", headers=owner).json()["items"] for item in rules]
        done = all(found and found[0]["notifications"] for found in events)
        return done and [found[0]["notifications"][0] for found in events]

    notifications = wait_for(notified, timeout_s=30, interval_s=0.5)
    refused = [n for n in notifications if not n["ok"]]
    assert len(refused) == MAX_RULES - (MAILS_PER_HOUR - 1) and "alert mails this hour" in refused[0]["error"]
    tally["operations tried"] += MAX_RULES + 3
    # The confirmation mail counts too: the address gets the cap, not one mail per rule.
    assert len(mail_to(stack.endpoints["control"], inbox)) == MAILS_PER_HOUR
    for item in api.get("/api/v1/alerts/", params={"limit": 100}, headers=owner).json()["items"]:
        api.delete(f"/api/v1/alerts/{item['id']}", headers=owner)
