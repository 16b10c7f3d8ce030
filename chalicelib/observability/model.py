"""Dashboards, alert rules, alert events and alert recipients as the observability services speak
of them, and the storage they need (`ObservabilityStorage`: chalicelib/observability/store.py is
it over DynamoDB). Storage-free.

Each listed record has a `position`: where it stands in its list (an owner's dashboards or rules,
a rule's events), which a page's cursor holds (chalicelib/http/paging.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

OK, FIRING = "ok", "firing"


@dataclass(frozen=True)
class Dashboard:
    dashboard_id: str
    owner_id: str
    # The definition as JSON text.
    body: str
    created_at: int
    updated_at: int

    @property
    def position(self) -> str:
        return f"DASHBOARD#{self.dashboard_id}"


@dataclass(frozen=True)
class AlertRule:
    rule_id: str
    owner_id: str
    # The definition as JSON text.
    body: str
    enabled: bool
    created_at: int
    updated_at: int
    state: str = OK
    # The position of the open event while firing.
    open_event: str | None = None
    last_value: float | None = None
    last_evaluated_at: int | None = None

    @property
    def position(self) -> str:
        return f"ALERT#{self.rule_id}"


@dataclass(frozen=True)
class Notification:
    transition: str
    channel: str
    ok: bool
    error: str | None
    at: int


@dataclass(frozen=True)
class AlertEvent:
    """One firing of a rule, from when it opened until it resolved."""

    event_id: str
    rule_id: str
    opened_at: int
    open_value: float
    # The rule's condition when the event opened, as JSON text: {query, window, comparison, threshold}.
    condition: str
    resolved_at: int | None = None
    resolve_value: float | None = None
    notifications: tuple[Notification, ...] = ()

    @property
    def position(self) -> str:
        return f"EVENT#{self.opened_at:013d}#{self.event_id}"


@dataclass(frozen=True)
class Recipient:
    """An address an owner asked to notify; it receives alerts only once it opened its link."""

    recipient_id: str
    owner_id: str
    email: str
    verified: bool
    created_at: int
    token_hash: str | None = None
    token_expires_at: float | None = None


class ObservabilityStorage(Protocol):
    # -- dashboards -------------------------------------------------------------------------

    def save_dashboard(self, dashboard: Dashboard, create: bool) -> bool:
        """Create (must not exist) or replace (must exist); False when that precondition fails."""

    def dashboard(self, owner_id: str, dashboard_id: str) -> Dashboard | None: ...

    def delete_dashboard(self, owner_id: str, dashboard_id: str) -> bool: ...

    def dashboards(self, owner_id: str, after: str | None, page_size: int) -> Iterator[Dashboard]:
        """An owner's dashboards in position order, from after the position `after`."""

    # -- alert rules ------------------------------------------------------------------------

    def save_rule(self, rule: AlertRule, create: bool) -> bool: ...

    def update_rule(self, owner_id: str, rule_id: str, body: str, enabled: bool, at: int) -> AlertRule | None:
        """A new definition; the rule's state (firing or not) carries over. None: no such rule."""

    def rule(self, owner_id: str, rule_id: str) -> AlertRule | None: ...

    def rules(self, owner_id: str, after: str | None, page_size: int) -> Iterator[AlertRule]: ...

    def all_rules(self) -> Iterator[AlertRule]:
        """Every enabled rule of every owner."""

    def delete_rule(self, owner_id: str, rule_id: str) -> bool:
        """The rule and its events; False when there was no such rule."""

    def record_evaluation(self, rule: AlertRule, value: float, at: int) -> None: ...

    def count_rules(self, owner_id: str) -> int: ...

    # -- recipients -------------------------------------------------------------------------

    def save_recipient(self, recipient: Recipient) -> None: ...

    def recipient(self, owner_id: str, recipient_id: str) -> Recipient | None: ...

    def recipients(self, owner_id: str) -> list[Recipient]: ...

    def verify_recipient(self, owner_id: str, recipient_id: str, token_hash: str, now: float) -> bool:
        """Mark the address confirmed if this is its live link; False otherwise."""

    def delete_recipient(self, owner_id: str, recipient_id: str) -> bool: ...

    def take_mail_slot(self, address_hash: str, hour: int, cap: int) -> bool:
        """Count one mail to an address in an hour, unless `cap` were sent already (then False)."""

    # -- alert events -----------------------------------------------------------------------

    def open_alert(self, rule: AlertRule, event: AlertEvent, at: int) -> bool:
        """ok → firing with a new event, unless another evaluator did it first."""

    def resolve_alert(self, rule: AlertRule, value: float, at: int) -> AlertEvent | None:
        """firing → ok, closing the open event; None if another evaluator did it first."""

    def record_notifications(self, event: AlertEvent, sent: list[Notification]) -> None:
        """Appended in place: the open and the resolve notifications may be recorded at once."""

    def events(self, rule_id: str, after: str | None, page_size: int) -> Iterator[AlertEvent]:
        """A rule's events, newest first, from after the position `after`."""
