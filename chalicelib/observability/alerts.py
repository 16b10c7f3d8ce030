"""Alert rules and their evaluation.

A rule counts the owner's events matching its query in the last `window` and compares the
count with its threshold. The evaluator (every minute) moves a rule ok → firing when the
comparison holds, opening an alert event, and firing → ok when it no longer does, closing it.
Each move is a conditional transaction (chalicelib/observability/store.py), and only the
evaluator whose move succeeded notifies: one notification per channel when the alert fires,
one when it resolves, however often it is evaluated in between (no repeat storm).

Notifications are sent at most once per move: an evaluator that dies between its move and its
sends loses them; a channel that fails is recorded on the event, not retried.
"""

from __future__ import annotations

import datetime
import json
import operator
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.errors import FieldError, NotFound, ValidationFailed
from chalicelib.jsonlog import get_logger
from chalicelib.observability.dashboards import Page, check_limit, paged
from chalicelib.observability.query import LogQuery, Window, duration_s, epoch_ms, iso_ms
from chalicelib.observability.service import LogService, Search, utcnow
from chalicelib.observability.store import FIRING, AlertEventItem, AlertRuleItem, ObservabilityStore
from chalicelib.observability.store import decode_cursor as decode_sort_key
from chalicelib.observability.store import encode_cursor as encode_sort_key

log = get_logger("observability")

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
MIN_WINDOW_S, MAX_WINDOW_S = 10, 86400

# Sends one notification: (channel as stored in the rule, message {subject, text, payload}).
Notify = Callable[[dict[str, Any], dict[str, Any]], None]
# Refuses a webhook URL that can never be delivered to (raises with the reason).
CheckUrl = Callable[[str], None]


def channel_name(channel: dict[str, Any]) -> str:
    return f"email:{channel['to']}" if channel["type"] == "email" else f"webhook:{channel['url']}"


def rule_view(item: AlertRuleItem) -> dict[str, Any]:
    return {
        "id": item.rule_id,
        **json.loads(item.body),
        "enabled": item.enabled,
        "state": item.state,
        "last_value": item.last_value,
        "last_evaluated_at": iso_ms(item.last_evaluated_at) if item.last_evaluated_at is not None else None,
        "created_at": iso_ms(item.created_at),
        "updated_at": iso_ms(item.updated_at),
    }


def event_view(item: AlertEventItem) -> dict[str, Any]:
    return {
        "id": item.event_id,
        "status": "resolved" if item.resolved_at is not None else "open",
        "opened_at": iso_ms(item.opened_at),
        "open_value": item.open_value,
        "resolved_at": iso_ms(item.resolved_at) if item.resolved_at is not None else None,
        "resolve_value": item.resolve_value,
        "condition": json.loads(item.condition),
        "notifications": [
            {"transition": n.transition, "channel": n.channel, "ok": n.ok, "error": n.error, "at": iso_ms(n.at)}
            for n in item.notifications
        ],
    }


def message(rule: dict[str, Any], transition: str, value: float, event: AlertEventItem) -> dict[str, Any]:
    condition = f"{rule['comparison']} {rule['threshold']:g} in {rule['window']}"
    subject = f"[{transition.upper()}] {rule['name']}: {value:g} events ({condition})"
    payload = {
        "rule": {"name": rule["name"], "query": rule["query"], "window": rule["window"]},
        "status": transition,
        "value": value,
        "comparison": rule["comparison"],
        "threshold": rule["threshold"],
        "event_id": event.event_id,
        "rule_id": event.rule_id,
        "opened_at": iso_ms(event.opened_at),
        "resolved_at": iso_ms(event.resolved_at) if event.resolved_at is not None else None,
    }
    text = "\n".join(
        [
            subject,
            "",
            f"Query: {json.dumps(rule['query'])}",
            f"Opened: {payload['opened_at']}",
            *([f"Resolved: {payload['resolved_at']}"] if payload["resolved_at"] else []),
            f"History: /api/v1/alerts/{event.rule_id}/events",
        ]
    )
    return {"subject": subject, "text": text, "payload": payload}


class AlertService:
    def __init__(
        self,
        store: ObservabilityStore,
        logs: LogService,
        notify: Notify,
        check_url: CheckUrl,
        clock: Callable[[], datetime.datetime] = utcnow,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.logs = logs
        self.notify = notify
        self.check_url = check_url
        self.clock = clock
        self.new_id = new_id

    # -- rules ----------------------------------------------------------------------------

    def _check(self, data: dict[str, Any]) -> None:
        problems = []
        try:
            window = duration_s(data["window"])
        except ValueError as exc:
            problems.append(FieldError("$.window", str(exc)))
        else:
            if not MIN_WINDOW_S <= window <= MAX_WINDOW_S:
                problems.append(FieldError("$.window", "must be between 10s and 1d"))
        for n, channel in enumerate(data["channels"]):
            if channel["type"] == "webhook":
                try:
                    self.check_url(channel["url"])
                except Exception as exc:
                    problems.append(FieldError(f"$.channels[{n}].url", str(exc)))
        if problems:
            raise ValidationFailed(problems)

    @staticmethod
    def _body(data: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in data.items() if k != "enabled"}, separators=(",", ":"))

    def _own(self, principal: Principal, rule_id: str) -> AlertRuleItem:
        item = self.store.rule(principal.user_id, rule_id)
        if item is None:
            raise NotFound(f"No alert rule {rule_id}")
        return item

    def create(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        self._check(data)
        now = epoch_ms(self.clock())
        rule_id = self.new_id()
        item = AlertRuleItem(
            *AlertRuleItem.key(principal.user_id, rule_id),
            rule_id=rule_id,
            owner_id=principal.user_id,
            body=self._body(data),
            enabled=data.get("enabled", True),
            created_at=now,
            updated_at=now,
            gsi1sk=rule_id,
        )
        self.store.save_rule(item, create=True)
        return rule_view(item)

    def get(self, principal: Principal, rule_id: str) -> dict[str, Any]:
        return rule_view(self._own(principal, rule_id))

    def list(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        after = decode_sort_key(cursor) if cursor else None
        items = self.store.rules(principal.user_id, after, limit + 1)
        return paged(items, limit, lambda item: encode_sort_key(item.sk), rule_view)

    def replace(self, principal: Principal, rule_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self._check(data)
        updated = self.store.update_rule(
            principal.user_id, rule_id, self._body(data), data.get("enabled", True), epoch_ms(self.clock())
        )
        if updated is None:
            raise NotFound(f"No alert rule {rule_id}")
        return rule_view(updated)

    def delete(self, principal: Principal, rule_id: str) -> None:
        if not self.store.delete_rule(principal.user_id, rule_id):
            raise NotFound(f"No alert rule {rule_id}")

    def events(self, principal: Principal, rule_id: str, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        self._own(principal, rule_id)
        after = decode_sort_key(cursor) if cursor else None
        items = self.store.events(rule_id, after, limit + 1)
        return paged(items, limit, lambda item: encode_sort_key(item.sk), event_view)

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self) -> dict[str, int]:
        """One evaluation of every enabled rule. Counts of what happened."""
        now = self.clock()
        rules = list(self.store.all_rules())
        searches = []
        for rule in rules:
            body = json.loads(rule.body)
            window = Window(now - datetime.timedelta(seconds=duration_s(body["window"])), now)
            searches.append(Search(rule.owner_id, LogQuery.of(body["query"]), window, {}))
        answers = self.logs.run_all(searches)
        counts = {"rules": len(rules), "opened": 0, "resolved": 0, "unchanged": 0, "errors": 0}
        for rule, answer in zip(rules, answers, strict=True):
            if "error" in answer:
                log.warning("alert rule not evaluated", extra={"rule_id": rule.rule_id, "error": answer["error"]})
                counts["errors"] += 1
                continue
            try:
                counts[self._judge(rule, float(answer["hits"]["total"]["value"]), now)] += 1
            except Exception:
                log.exception("alert rule evaluation failed", extra={"rule_id": rule.rule_id})
                counts["errors"] += 1
        return counts

    def _judge(self, rule: AlertRuleItem, value: float, now: datetime.datetime) -> str:
        body = json.loads(rule.body)
        breached = COMPARISONS[body["comparison"]](value, body["threshold"])
        at = epoch_ms(now)
        if breached and rule.state != FIRING:
            event_id = self.new_id()
            event = AlertEventItem(
                *AlertEventItem.key(rule.rule_id, at, event_id),
                event_id=event_id,
                rule_id=rule.rule_id,
                opened_at=at,
                open_value=value,
                condition=json.dumps({k: body[k] for k in ("query", "window", "comparison", "threshold")}),
            )
            if self.store.open_alert(rule, event, at):
                self._send(body, "firing", value, event, now)
                return "opened"
        elif not breached and rule.state == FIRING:
            closed = self.store.resolve_alert(rule, value, at)
            if closed is not None:
                self._send(body, "resolved", value, closed, now)
                return "resolved"
        else:
            self.store.record_evaluation(rule, value, at)
        return "unchanged"

    def _send(
        self, rule: dict[str, Any], transition: str, value: float, event: AlertEventItem, now: datetime.datetime
    ) -> None:
        content = message(rule, transition, value, event)
        sent = []
        for channel in rule["channels"]:
            error = None
            try:
                self.notify(channel, content)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("alert notification failed", extra={"channel": channel_name(channel), "error": error})
            sent.append(
                {
                    "transition": transition,
                    "channel": channel_name(channel),
                    "ok": error is None,
                    "error": error,
                    "at": epoch_ms(now),
                }
            )
        self.store.record_notifications(event, sent)
        log.info("alert " + transition, extra={"rule_id": event.rule_id, "event_id": event.event_id, "value": value})
