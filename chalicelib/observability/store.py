"""The observability table (PynamoDB): dashboards, alert rules and alert events.

    OWNER#<user>  DASHBOARD#<id>                      a dashboard (its definition as JSON)
    OWNER#<user>  ALERT#<id>                          an alert rule, its state; gsi1: ALERT-RULES / <id>
    OWNER#<user>  RECIPIENT#<id>                      an address the owner may notify, once it confirmed
    RULE#<id>     EVENT#<opened ms, 13 digits>#<id>   one firing of a rule, newest last
    MAILCAP#<address hash>  HOUR#<epoch hour>         alert mails sent to one address in one hour (TTL)

A rule's state moves ok → firing and back in a transaction with its event, each conditioned
on the state it expects: two evaluators running at once open one event, and notify once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TypeVar

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.dynamo import (
    Entry,
    KeyedItem,
    Refused,
    condition_failed,
    float_or_none,
    get_or_none,
    int_or_none,
    transaction,
    unbound_meta,
)
from chalicelib.observability.model import FIRING, OK, AlertEvent, AlertRule, Dashboard, Notification, Recipient

RULES_KEY = "ALERT-RULES"


class ObservabilityItem(KeyedItem):
    Meta = unbound_meta()


Item = TypeVar("Item", bound="ObservabilityItem")


class DashboardItem(ObservabilityItem):
    dashboard_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    @staticmethod
    def key(owner_id: str, dashboard_id: str) -> tuple[str, str]:
        return f"OWNER#{owner_id}", f"DASHBOARD#{dashboard_id}"

    @classmethod
    def of(cls, dashboard: Dashboard) -> DashboardItem:
        return cls(*cls.key(dashboard.owner_id, dashboard.dashboard_id), **dataclasses.asdict(dashboard))

    def record(self) -> Dashboard:
        return Dashboard(self.dashboard_id, self.owner_id, self.body, int(self.created_at), int(self.updated_at))


class AllRules(GlobalSecondaryIndex["AlertRuleItem"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class AlertRuleItem(ObservabilityItem):
    rule_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    body = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    state = UnicodeAttribute(default=OK)
    # The sort key of the open event while firing.
    open_event = UnicodeAttribute(null=True)
    last_value = NumberAttribute(null=True)
    last_evaluated_at = NumberAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    gsi1pk = UnicodeAttribute(default=RULES_KEY)
    gsi1sk = UnicodeAttribute()
    all_rules = AllRules()

    @staticmethod
    def key(owner_id: str, rule_id: str) -> tuple[str, str]:
        return f"OWNER#{owner_id}", f"ALERT#{rule_id}"

    @classmethod
    def of(cls, rule: AlertRule) -> AlertRuleItem:
        return cls(*cls.key(rule.owner_id, rule.rule_id), **dataclasses.asdict(rule), gsi1sk=rule.rule_id)

    def record(self) -> AlertRule:
        return AlertRule(
            rule_id=self.rule_id,
            owner_id=self.owner_id,
            body=self.body,
            enabled=bool(self.enabled),
            created_at=int(self.created_at),
            updated_at=int(self.updated_at),
            state=self.state,
            open_event=self.open_event,
            last_value=float_or_none(self.last_value),
            last_evaluated_at=int_or_none(self.last_evaluated_at),
        )


class NotificationEntry(Entry):
    transition = UnicodeAttribute()
    channel = UnicodeAttribute()
    ok = BooleanAttribute()
    error = UnicodeAttribute(null=True)
    at = NumberAttribute()


class AlertEventItem(ObservabilityItem):
    event_id = UnicodeAttribute()
    rule_id = UnicodeAttribute()
    opened_at = NumberAttribute()
    open_value = NumberAttribute()
    resolved_at = NumberAttribute(null=True)
    resolve_value = NumberAttribute(null=True)
    # The rule's condition when the event opened: {query, window, comparison, threshold}.
    condition = UnicodeAttribute()
    notifications = ListAttribute(of=NotificationEntry, default=list)

    @staticmethod
    def key(rule_id: str, position: str) -> tuple[str, str]:
        return f"RULE#{rule_id}", position

    @classmethod
    def of(cls, event: AlertEvent) -> AlertEventItem:
        fields = dataclasses.asdict(event)
        fields["notifications"] = [NotificationEntry(**dataclasses.asdict(n)) for n in event.notifications]
        return cls(*cls.key(event.rule_id, event.position), **fields)

    def record(self) -> AlertEvent:
        return AlertEvent(
            event_id=self.event_id,
            rule_id=self.rule_id,
            opened_at=int(self.opened_at),
            open_value=float(self.open_value),
            condition=self.condition,
            resolved_at=int_or_none(self.resolved_at),
            resolve_value=float_or_none(self.resolve_value),
            notifications=tuple(
                Notification(n.transition, n.channel, bool(n.ok), n.error, int(n.at)) for n in self.notifications
            ),
        )


class RecipientItem(ObservabilityItem):
    """An address an owner asked to notify; it receives alerts only once it opened its link."""

    recipient_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    email = UnicodeAttribute()
    verified = BooleanAttribute(default=False)
    token_hash = UnicodeAttribute(null=True)
    token_expires_at = NumberAttribute(null=True)
    created_at = NumberAttribute()

    @staticmethod
    def key(owner_id: str, recipient_id: str) -> tuple[str, str]:
        return f"OWNER#{owner_id}", f"RECIPIENT#{recipient_id}"

    @classmethod
    def of(cls, recipient: Recipient) -> RecipientItem:
        return cls(*cls.key(recipient.owner_id, recipient.recipient_id), **dataclasses.asdict(recipient))

    def record(self) -> Recipient:
        return Recipient(
            recipient_id=self.recipient_id,
            owner_id=self.owner_id,
            email=self.email,
            verified=bool(self.verified),
            created_at=int(self.created_at),
            token_hash=self.token_hash,
            token_expires_at=float_or_none(self.token_expires_at),
        )


class MailCountItem(ObservabilityItem):
    # `count` in the table; the attribute of the class must not hide PynamoDB's Model.count().
    tally = NumberAttribute(default=0, attr_name="count")
    expires_at = NumberAttribute()

    @staticmethod
    def key(address_hash: str, hour: int) -> tuple[str, str]:
        return f"MAILCAP#{address_hash}", f"HOUR#{hour}"


class ObservabilityStore:
    """chalicelib/observability/model.py's ObservabilityStorage over the observability table."""

    # -- shared ---------------------------------------------------------------------------

    @staticmethod
    def _save(item: ObservabilityItem, create: bool) -> bool:
        """Create (must not exist) or replace (must exist); False when that precondition fails."""
        condition = ObservabilityItem.sk.does_not_exist() if create else ObservabilityItem.sk.exists()
        try:
            item.save(condition=condition)
        except PutError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    @staticmethod
    def _delete(item: ObservabilityItem) -> bool:
        try:
            item.delete(condition=ObservabilityItem.sk.exists())
        except DeleteError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    @staticmethod
    def _page(
        model: type[Item], pk: str, prefix: str, after: str | None, page_size: int, newest_first: bool = False
    ) -> Iterator[Item]:
        yield from model.query(
            pk,
            ObservabilityItem.sk.startswith(prefix),
            scan_index_forward=not newest_first,
            last_evaluated_key={"pk": {"S": pk}, "sk": {"S": after}} if after else None,
            page_size=page_size,
        )

    # -- dashboards -----------------------------------------------------------------------

    def save_dashboard(self, dashboard: Dashboard, create: bool) -> bool:
        return self._save(DashboardItem.of(dashboard), create)

    def dashboard(self, owner_id: str, dashboard_id: str) -> Dashboard | None:
        item = get_or_none(DashboardItem, *DashboardItem.key(owner_id, dashboard_id))
        return item.record() if item is not None else None

    def delete_dashboard(self, owner_id: str, dashboard_id: str) -> bool:
        return self._delete(DashboardItem(*DashboardItem.key(owner_id, dashboard_id)))

    def dashboards(self, owner_id: str, after: str | None, page_size: int) -> Iterator[Dashboard]:
        for item in self._page(DashboardItem, f"OWNER#{owner_id}", "DASHBOARD#", after, page_size):
            yield item.record()

    # -- alert rules ----------------------------------------------------------------------

    def save_rule(self, rule: AlertRule, create: bool) -> bool:
        return self._save(AlertRuleItem.of(rule), create)

    def update_rule(self, owner_id: str, rule_id: str, body: str, enabled: bool, at: int) -> AlertRule | None:
        """A new definition; the rule's state (firing or not) carries over."""
        item = AlertRuleItem(*AlertRuleItem.key(owner_id, rule_id))
        try:
            item.update(
                actions=[
                    AlertRuleItem.body.set(body),
                    AlertRuleItem.enabled.set(enabled),
                    AlertRuleItem.updated_at.set(at),
                ],
                condition=AlertRuleItem.sk.exists(),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return None
            raise
        return item.record()

    def rule(self, owner_id: str, rule_id: str) -> AlertRule | None:
        item = get_or_none(AlertRuleItem, *AlertRuleItem.key(owner_id, rule_id))
        return item.record() if item is not None else None

    def rules(self, owner_id: str, after: str | None, page_size: int) -> Iterator[AlertRule]:
        for item in self._page(AlertRuleItem, f"OWNER#{owner_id}", "ALERT#", after, page_size):
            yield item.record()

    def all_rules(self) -> Iterator[AlertRule]:
        """Every enabled rule of every owner (the index is eventually consistent: a rule saved a
        moment ago may wait for the next evaluation)."""
        enabled = AlertRuleItem.enabled == True  # noqa: E712
        for item in AlertRuleItem.all_rules.query(RULES_KEY, filter_condition=enabled, page_size=100):
            yield item.record()

    def delete_rule(self, owner_id: str, rule_id: str) -> bool:
        if not self._delete(AlertRuleItem(*AlertRuleItem.key(owner_id, rule_id))):
            return False
        with AlertEventItem.batch_write() as batch:
            for event in AlertEventItem.query(f"RULE#{rule_id}"):
                batch.delete(event)
        return True

    def record_evaluation(self, rule: AlertRule, value: float, at: int) -> None:
        try:
            AlertRuleItem(*AlertRuleItem.key(rule.owner_id, rule.rule_id)).update(
                actions=[AlertRuleItem.last_value.set(value), AlertRuleItem.last_evaluated_at.set(at)],
                condition=AlertRuleItem.sk.exists(),
            )
        except UpdateError as exc:
            # Deleted while it was being evaluated: nothing to record.
            if not condition_failed(exc):
                raise

    def count_rules(self, owner_id: str) -> int:
        return AlertRuleItem.count(f"OWNER#{owner_id}", AlertRuleItem.sk.startswith("ALERT#"))

    # -- recipients -----------------------------------------------------------------------

    def save_recipient(self, recipient: Recipient) -> None:
        RecipientItem.of(recipient).save()

    def recipient(self, owner_id: str, recipient_id: str) -> Recipient | None:
        item = get_or_none(RecipientItem, *RecipientItem.key(owner_id, recipient_id))
        return item.record() if item is not None else None

    def recipients(self, owner_id: str) -> list[Recipient]:
        return [
            item.record()
            for item in RecipientItem.query(f"OWNER#{owner_id}", RecipientItem.sk.startswith("RECIPIENT#"))
        ]

    def verify_recipient(self, owner_id: str, recipient_id: str, token_hash: str, now: float) -> bool:
        """Mark the address confirmed if this is its live link; False otherwise."""
        item = RecipientItem(*RecipientItem.key(owner_id, recipient_id))
        try:
            item.update(
                actions=[
                    RecipientItem.verified.set(True),
                    RecipientItem.token_hash.remove(),
                    RecipientItem.token_expires_at.remove(),
                ],
                condition=(RecipientItem.token_hash == token_hash) & (RecipientItem.token_expires_at > now),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def delete_recipient(self, owner_id: str, recipient_id: str) -> bool:
        return self._delete(RecipientItem(*RecipientItem.key(owner_id, recipient_id)))

    def take_mail_slot(self, address_hash: str, hour: int, cap: int) -> bool:
        """Count one mail to an address in an hour, unless `cap` were sent already (then False)."""
        item = MailCountItem(*MailCountItem.key(address_hash, hour))
        try:
            item.update(
                actions=[MailCountItem.tally.add(1), MailCountItem.expires_at.set((hour + 2) * 3600)],
                condition=MailCountItem.tally.does_not_exist() | (MailCountItem.tally < cap),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # -- alert events ---------------------------------------------------------------------

    def open_alert(self, rule: AlertRule, event: AlertEvent, at: int) -> bool:
        """ok → firing with a new event, unless another evaluator did it first."""
        try:
            with transaction(ObservabilityItem) as steps:
                steps.update(
                    AlertRuleItem(*AlertRuleItem.key(rule.owner_id, rule.rule_id)),
                    actions=[
                        AlertRuleItem.state.set(FIRING),
                        AlertRuleItem.open_event.set(event.position),
                        AlertRuleItem.last_value.set(event.open_value),
                        AlertRuleItem.last_evaluated_at.set(at),
                    ],
                    condition=AlertRuleItem.sk.exists() & (AlertRuleItem.state == OK),
                )
                steps.save(AlertEventItem.of(event), condition=AlertEventItem.sk.does_not_exist())
        except Refused:
            return False
        return True

    def resolve_alert(self, rule: AlertRule, value: float, at: int) -> AlertEvent | None:
        """firing → ok, closing the open event; None if another evaluator did it first."""
        open_event = rule.open_event or ""
        event = AlertEventItem(*AlertEventItem.key(rule.rule_id, open_event))
        try:
            with transaction(ObservabilityItem) as steps:
                steps.update(
                    AlertRuleItem(*AlertRuleItem.key(rule.owner_id, rule.rule_id)),
                    actions=[
                        AlertRuleItem.state.set(OK),
                        AlertRuleItem.open_event.remove(),
                        AlertRuleItem.last_value.set(value),
                        AlertRuleItem.last_evaluated_at.set(at),
                    ],
                    condition=(AlertRuleItem.state == FIRING) & (AlertRuleItem.open_event == open_event),
                )
                steps.update(
                    event,
                    actions=[AlertEventItem.resolved_at.set(at), AlertEventItem.resolve_value.set(value)],
                    condition=AlertEventItem.sk.exists(),
                )
        except Refused:
            return None
        closed = get_or_none(AlertEventItem, event.pk, event.sk)
        return closed.record() if closed is not None else None

    def record_notifications(self, event: AlertEvent, sent: list[Notification]) -> None:
        """Appended in place: the open and the resolve notifications may be recorded at once."""
        notifications = [NotificationEntry(**dataclasses.asdict(entry)) for entry in sent]
        try:
            AlertEventItem(*AlertEventItem.key(event.rule_id, event.position)).update(
                actions=[AlertEventItem.notifications.set(AlertEventItem.notifications.append(notifications))],
                condition=AlertEventItem.sk.exists(),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise

    def events(self, rule_id: str, after: str | None, page_size: int) -> Iterator[AlertEvent]:
        for item in self._page(AlertEventItem, f"RULE#{rule_id}", "EVENT#", after, page_size, newest_first=True):
            yield item.record()
