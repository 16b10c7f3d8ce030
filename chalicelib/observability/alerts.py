"""Alert rules and their evaluation.

A rule counts the owner's events matching its query in the last `window` and compares the
count with its threshold. The evaluator (every minute) moves a rule ok → firing when the
comparison holds, opening an alert event, and firing → ok when it no longer does, closing it.
Each move is a conditional transaction (chalicelib/observability/store.py), and only the
evaluator whose move succeeded notifies: one notification per channel when the alert fires,
one when it resolves, however often it is evaluated in between (no repeat storm).

Notifications are sent at most once per move: an evaluator that dies between its move and its
sends loses them; a channel that fails is recorded on the event, not retried.

Alert mail cannot be aimed at strangers: an email channel's address must be the owner's own
(the account's email) or a recipient that opened the confirmation link sent to it, checked
when the rule is saved and again at every send. Each address receives at most
`max_mails_per_hour` alert mails in an hour from every rule of every owner together (its
confirmation mails included), and an owner keeps at most `max_rules` rules.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import hashlib
import hmac
import json
import operator
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.http import paging
from chalicelib.jsonlog import get_logger
from chalicelib.mail import email_key
from chalicelib.observability.dashboards import Page, check_limit, paged
from chalicelib.observability.model import (
    FIRING,
    AlertEvent,
    AlertRule,
    Notification,
    ObservabilityStorage,
    Recipient,
)
from chalicelib.observability.query import LogQuery, Window, duration_s, epoch_ms, iso_ms
from chalicelib.observability.service import LogService, Search, utcnow
from chalicelib.principal import Principal

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
# The email of an owner's account (None if it is gone), and sending one email.
OwnerEmail = Callable[[str], str | None]
# A sender's answer (a message id) is not needed here.
SendEmail = Callable[[str, str, str], object]
MAX_RECIPIENTS = 20
RECIPIENT_LINK_TTL_S = 7 * 86400
NOT_VERIFIED = "is not a verified recipient: use your account's email, or add it at /api/v1/alerts/recipients"


@dataclass(frozen=True)
class Limits:
    max_rules: int = 20
    max_mails_per_hour: int = 10


def address_hash(address: str) -> str:
    return hashlib.sha256(email_key(address).encode()).hexdigest()


def recipient_view(item: Recipient) -> dict[str, Any]:
    return {
        "id": item.recipient_id,
        "email": item.email,
        "verified": item.verified,
        "created_at": iso_ms(item.created_at),
    }


def channel_name(channel: dict[str, Any]) -> str:
    return f"email:{channel['to']}" if channel["type"] == "email" else f"webhook:{channel['url']}"


def rule_view(item: AlertRule) -> dict[str, Any]:
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


def event_view(item: AlertEvent) -> dict[str, Any]:
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


def message(rule: dict[str, Any], transition: str, value: float, event: AlertEvent) -> dict[str, Any]:
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
        store: ObservabilityStorage,
        logs: LogService,
        notify: Notify,
        check_url: CheckUrl,
        owner_email: OwnerEmail,
        send_email: SendEmail,
        public_base_url: str = "",
        limits: Limits = Limits(),
        clock: Callable[[], datetime.datetime] = utcnow,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.logs = logs
        self.notify = notify
        self.check_url = check_url
        self.owner_email = owner_email
        self.send_email = send_email
        self.public_base_url = public_base_url
        self.limits = limits
        self.clock = clock
        self.new_id = new_id

    # -- rules ----------------------------------------------------------------------------

    def _check(self, principal: Principal, data: dict[str, Any]) -> None:
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
            elif not self._may_mail(principal.user_id, channel["to"]):
                problems.append(FieldError(f"$.channels[{n}].to", f"{channel['to']} {NOT_VERIFIED}"))
        if problems:
            raise ValidationFailed(problems)

    @staticmethod
    def _body(data: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in data.items() if k != "enabled"}, separators=(",", ":"))

    def _own(self, principal: Principal, rule_id: str) -> AlertRule:
        item = self.store.rule(principal.user_id, rule_id)
        if item is None:
            raise NotFound(f"No alert rule {rule_id}")
        return item

    def create(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        self._check(principal, data)
        if self.store.count_rules(principal.user_id) >= self.limits.max_rules:
            raise Conflict(f"An account keeps at most {self.limits.max_rules} alert rules; delete one first")
        now = epoch_ms(self.clock())
        rule_id = self.new_id()
        item = AlertRule(
            rule_id=rule_id,
            owner_id=principal.user_id,
            body=self._body(data),
            enabled=data.get("enabled", True),
            created_at=now,
            updated_at=now,
        )
        self.store.save_rule(item, create=True)
        return rule_view(item)

    def get(self, principal: Principal, rule_id: str) -> dict[str, Any]:
        return rule_view(self._own(principal, rule_id))

    def list(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        check_limit(limit)
        after = paging.decode_cursor(cursor, paging.is_string) if cursor else None
        items = self.store.rules(principal.user_id, after, limit + 1)
        return paged(items, limit, lambda item: paging.encode_cursor(item.position), rule_view)

    def replace(self, principal: Principal, rule_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self._check(principal, data)
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
        after = paging.decode_cursor(cursor, paging.is_string) if cursor else None
        items = self.store.events(rule_id, after, limit + 1)
        return paged(items, limit, lambda item: paging.encode_cursor(item.position), event_view)

    # -- recipients -----------------------------------------------------------------------

    def _may_mail(self, owner_id: str, address: str) -> bool:
        """The owner's own address, or one of their recipients that confirmed."""
        own = self.owner_email(owner_id)
        if own is not None and email_key(own) == email_key(address):
            return True
        item = self.store.recipient(owner_id, address_hash(address)[:32])
        return item is not None and item.verified

    def add_recipient(self, principal: Principal, address: str) -> dict[str, Any]:
        """Ask an address whether it wants this owner's alerts: a link to confirm is mailed to it."""
        recipient_id = address_hash(address)[:32]
        existing = self.store.recipient(principal.user_id, recipient_id)
        if existing is not None and existing.verified:
            return recipient_view(existing)
        if existing is None and len(self.store.recipients(principal.user_id)) >= MAX_RECIPIENTS:
            raise Conflict(f"An account keeps at most {MAX_RECIPIENTS} alert recipients")
        if not self._take_mail_slot(address):
            raise Conflict(f"{address} has had as many alert mails as it takes this hour; try later")
        token = f"{principal.user_id}.{recipient_id}.{secrets.token_urlsafe(24)}"
        now = epoch_ms(self.clock()) / 1000
        item = Recipient(
            recipient_id=recipient_id,
            owner_id=principal.user_id,
            email=address,
            verified=False,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            token_expires_at=now + RECIPIENT_LINK_TTL_S,
            created_at=epoch_ms(self.clock()),
        )
        self.store.save_recipient(item)
        link = f"{self.public_base_url}/api/v1/alerts/recipients/confirm?token={token}"
        self.send_email(
            address,
            "Confirm that you want to receive alerts",
            f"The account {principal.username} would like to send its log alerts to this address.\n\n"
            f"To agree, open this link and press the button:\n\n{link}\n\n"
            "Until then nothing is sent to you. If you do not know this account, ignore this email.\n",
        )
        return recipient_view(item)

    def recipients(self, principal: Principal) -> builtins.list[dict[str, Any]]:
        return [recipient_view(item) for item in self.store.recipients(principal.user_id)]

    def delete_recipient(self, principal: Principal, recipient_id: str) -> None:
        if not self.store.delete_recipient(principal.user_id, recipient_id):
            raise NotFound(f"No alert recipient {recipient_id}")

    def confirm_recipient(self, token: str) -> dict[str, Any]:
        invalid = ValidationFailed([FieldError("$.token", "The confirmation link is invalid, used or expired")])
        owner_id, _, rest = token.partition(".")
        recipient_id, _, secret = rest.partition(".")
        item = self.store.recipient(owner_id, recipient_id) if owner_id and recipient_id and secret else None
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        if item is None or not hmac.compare_digest(item.token_hash or "", token_hash):
            raise invalid
        if not self.store.verify_recipient(owner_id, recipient_id, token_hash, epoch_ms(self.clock()) / 1000):
            raise invalid
        return recipient_view(dataclasses.replace(item, verified=True))

    def _take_mail_slot(self, address: str) -> bool:
        hour = int(epoch_ms(self.clock()) // 3_600_000)
        return self.store.take_mail_slot(address_hash(address), hour, self.limits.max_mails_per_hour)

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

    def _judge(self, rule: AlertRule, value: float, now: datetime.datetime) -> str:
        body = json.loads(rule.body)
        breached = COMPARISONS[body["comparison"]](value, body["threshold"])
        at = epoch_ms(now)
        if breached and rule.state != FIRING:
            event_id = self.new_id()
            event = AlertEvent(
                event_id=event_id,
                rule_id=rule.rule_id,
                opened_at=at,
                open_value=value,
                condition=json.dumps({k: body[k] for k in ("query", "window", "comparison", "threshold")}),
            )
            if self.store.open_alert(rule, event, at):
                self._send(body, "firing", value, event, now, rule.owner_id)
                return "opened"
        elif not breached and rule.state == FIRING:
            closed = self.store.resolve_alert(rule, value, at)
            if closed is not None:
                self._send(body, "resolved", value, closed, now, rule.owner_id)
                return "resolved"
        else:
            self.store.record_evaluation(rule, value, at)
        return "unchanged"

    def _send(
        self,
        rule: dict[str, Any],
        transition: str,
        value: float,
        event: AlertEvent,
        now: datetime.datetime,
        owner_id: str,
    ) -> None:
        content = message(rule, transition, value, event)
        sent = []
        for channel in rule["channels"]:
            error = None
            try:
                if channel["type"] == "email":
                    self._check_mail(owner_id, channel["to"])
                self.notify(channel, content)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("alert notification failed", extra={"channel": channel_name(channel), "error": error})
            sent.append(Notification(transition, channel_name(channel), error is None, error, epoch_ms(now)))
        self.store.record_notifications(event, sent)
        log.info("alert " + transition, extra={"rule_id": event.rule_id, "event_id": event.event_id, "value": value})

    def _check_mail(self, owner_id: str, address: str) -> None:
        """Refuse a send the owner may no longer make (a recipient removed, an email changed) or
        that would pass the address's hourly allowance."""
        if not self._may_mail(owner_id, address):
            raise PermissionError(f"{address} {NOT_VERIFIED}")
        if not self._take_mail_slot(address):
            raise PermissionError(f"{address} has had {self.limits.max_mails_per_hour} alert mails this hour")
