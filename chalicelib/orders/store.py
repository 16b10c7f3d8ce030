"""The orders table (PynamoDB), one item type per key prefix:

| item | pk | sk | notes |
|---|---|---|---|
| cart | `CART#<user>` | `CART` | lines as JSON, `version` for optimistic writes |
| order | `ORDER#<id>` | `ORDER` | price snapshot, history; gsi1 `USER#<user>` / `ORDER#<ms>#<id>`; by-pay-by (unpaid) |
| unpaid count | `UNPAID#<user>` | `COUNT` | the user's open unpaid orders, kept under the cap by every transition |
| payment | `PAYMENT#<id>` | `PAYMENT` | one per charge attempt (succeeded, declined, refunded) |
| idempotency record | `IDEMPOTENCY#<user>#<key hash>` | `IDEMPOTENCY` | request hash, stored outcome, TTL |
| simulated charge | `SIMCHARGE#<provider key>` | `CHARGE` | the simulated provider's ledger |
| inbox entry | `INBOX#<consumer>#<event id>` | `INBOX` | an event a consumer handled, TTL |

Everything that must change together changes in one TransactWriteItems: placing an order
(order + every product's stock + the cart), paying (payment + order + idempotency record),
cancelling, refunding and expiring (order + stock back + the unpaid count). The stock is the
catalog's: its steps come from the catalog's port (`Stock`, plugged in by the application), and
a refused step names itself, so no refusal is decoded by its position in the transaction.

An unpaid order expires at `pay_by`: the sweeper's transition is conditioned on the order
still pending, past `pay_by` and not claimed by a payer (`paying_until`), and a payer's claim
is conditioned on `pay_by` not passed, so a payment racing the expiry has exactly one winner.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable
from typing import Any, Protocol

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.dynamo import (
    Entry,
    KeyedItem,
    Refused,
    Transaction,
    condition_failed,
    float_or_none,
    get_or_none,
    transaction,
    unbound_meta,
)
from chalicelib.errors import Conflict
from chalicelib.orders.model import (
    UNPAID_STATUS,
    Cart,
    ChargeRecord,
    IdempotencyRecord,
    Order,
    OrderLine,
    Payment,
    Shortfall,
    StatusChange,
    TooManyUnpaid,
)


class OrdersItem(KeyedItem):
    Meta = unbound_meta()


class Stock(Protocol):
    """The catalog's stock, as steps of the transactions here (chalicelib/catalog's StockSteps)."""

    def take(self, transaction: Transaction, product_id: int, quantity: int, refusal: Hashable) -> None:
        """Take `quantity` if the product is live and has that much; else the transaction is
        refused with `refusal`."""

    def give_back(self, transaction: Transaction, product_id: int, quantity: int) -> None: ...


# -- carts ----------------------------------------------------------------------------------------


class CartItem(OrdersItem):
    user_id = UnicodeAttribute()
    # [{"product_id", "quantity"}] in the order products were added.
    lines = UnicodeAttribute()
    version = NumberAttribute()
    updated_at = NumberAttribute()

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"CART#{user_id}", "CART"

    def cart(self) -> Cart:
        lines = tuple((int(line["product_id"]), int(line["quantity"])) for line in json.loads(self.lines))
        return Cart(self.user_id, lines, int(self.version))


# -- orders ---------------------------------------------------------------------------------------


class HistoryEntry(Entry):
    status = UnicodeAttribute()
    at = NumberAttribute()
    by = UnicodeAttribute()


class ByUser(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByPayBy(GlobalSecondaryIndex["OrderItem"]):
    """Sparse: only unpaid orders carry `unpaid_key`, so the sweeper reads just those, oldest first."""

    class Meta:
        index_name = "by-pay-by"
        projection = AllProjection()

    unpaid_key = UnicodeAttribute(hash_key=True)
    pay_by = NumberAttribute(range_key=True)


UNPAID = "UNPAID"


class UnpaidCountItem(OrdersItem):
    # `count` in the table; the attribute of the class must not hide PynamoDB's Model.count().
    tally = NumberAttribute(default=0, attr_name="count")

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"UNPAID#{user_id}", "COUNT"


class OrderItem(OrdersItem):
    order_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    # The price snapshot: [{"product_id", "title", "price_cents", "quantity", "line_total_cents", "thumbnail"}].
    lines = UnicodeAttribute()
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    history = ListAttribute(of=HistoryEntry)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    payment_id = UnicodeAttribute(null=True)
    # Who is charging the order right now, and until when (a crashed payer's claim runs out).
    paying_id = UnicodeAttribute(null=True)
    paying_until = NumberAttribute(null=True)
    # When an unpaid order expires; `unpaid_key` is set only while it is unpaid.
    pay_by = NumberAttribute(null=True)
    unpaid_key = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_user = ByUser()
    by_pay_by = ByPayBy()

    @staticmethod
    def key(order_id: str) -> tuple[str, str]:
        return f"ORDER#{order_id}", "ORDER"

    @classmethod
    def of(cls, order: Order) -> OrderItem:
        """A new order's item: listed under its user, and in the sweeper's index while unpaid."""
        return cls(
            *cls.key(order.order_id),
            order_id=order.order_id,
            user_id=order.user_id,
            email=order.email,
            status=order.status,
            lines=json.dumps([dataclasses.asdict(line) for line in order.lines], separators=(",", ":")),
            total_cents=order.total_cents,
            currency=order.currency,
            history=[HistoryEntry(status=h.status, at=h.at, by=h.by) for h in order.history],
            created_at=order.created_at,
            updated_at=order.updated_at,
            payment_id=order.payment_id,
            pay_by=order.pay_by,
            unpaid_key=UNPAID if order.status == UNPAID_STATUS else None,
            gsi1pk=user_orders_key(order.user_id),
            gsi1sk=f"ORDER#{int(order.created_at * 1000):013d}#{order.order_id}",
        )

    def order(self) -> Order:
        return Order(
            order_id=self.order_id,
            user_id=self.user_id,
            email=self.email,
            status=self.status,
            lines=tuple(OrderLine(**line) for line in json.loads(self.lines)),
            total_cents=int(self.total_cents),
            currency=self.currency,
            history=tuple(StatusChange(h.status, float(h.at), h.by) for h in self.history),
            created_at=float(self.created_at),
            updated_at=float(self.updated_at),
            payment_id=self.payment_id,
            pay_by=float_or_none(self.pay_by),
        )


def user_orders_key(user_id: str) -> str:
    return f"USER#{user_id}"


# -- payments -------------------------------------------------------------------------------------


class PaymentItem(OrdersItem):
    payment_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    charge_id = UnicodeAttribute()
    decline_code = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    refund_id = UnicodeAttribute(null=True)
    refunded_at = NumberAttribute(null=True)

    @staticmethod
    def key(payment_id: str) -> tuple[str, str]:
        return f"PAYMENT#{payment_id}", "PAYMENT"

    @classmethod
    def of(cls, payment: Payment) -> PaymentItem:
        return cls(*cls.key(payment.payment_id), **dataclasses.asdict(payment))

    def payment(self) -> Payment:
        return Payment(
            payment_id=self.payment_id,
            order_id=self.order_id,
            user_id=self.user_id,
            amount_cents=int(self.amount_cents),
            currency=self.currency,
            status=self.status,
            payment_method=self.payment_method,
            charge_id=self.charge_id,
            decline_code=self.decline_code,
            created_at=float(self.created_at),
            refund_id=self.refund_id,
            refunded_at=float_or_none(self.refunded_at),
        )


class IdempotencyItem(OrdersItem):
    user_id = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    # "pending" while the first request runs, "done" once its outcome is stored.
    state = UnicodeAttribute()
    outcome = UnicodeAttribute(null=True)
    locked_until = NumberAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(user_id: str, key_hash: str) -> tuple[str, str]:
        return f"IDEMPOTENCY#{user_id}#{key_hash}", "IDEMPOTENCY"

    @classmethod
    def of(cls, record: IdempotencyRecord) -> IdempotencyItem:
        fields = dataclasses.asdict(record)
        return cls(*cls.key(record.user_id, fields.pop("key_hash")), **fields)

    def record(self) -> IdempotencyRecord:
        return IdempotencyRecord(
            user_id=self.user_id,
            key_hash=self.pk.rsplit("#", 1)[-1],
            request_hash=self.request_hash,
            state=self.state,
            outcome=self.outcome,
            locked_until=float(self.locked_until),
            expires_at=int(self.expires_at),
        )


class ChargeItem(OrdersItem):
    charge_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    status = UnicodeAttribute()
    decline_code = UnicodeAttribute(null=True)
    description = UnicodeAttribute()
    refund_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()

    @staticmethod
    def key(provider_key: str) -> tuple[str, str]:
        return f"SIMCHARGE#{provider_key}", "CHARGE"

    @classmethod
    def of(cls, record: ChargeRecord) -> ChargeItem:
        fields = dataclasses.asdict(record)
        return cls(*cls.key(fields.pop("provider_key")), **fields)

    def record(self) -> ChargeRecord:
        return ChargeRecord(
            provider_key=self.pk.split("#", 1)[1],
            charge_id=self.charge_id,
            amount_cents=int(self.amount_cents),
            currency=self.currency,
            payment_method=self.payment_method,
            status=self.status,
            decline_code=self.decline_code,
            description=self.description,
            created_at=float(self.created_at),
            refund_id=self.refund_id,
        )


class InboxItem(OrdersItem):
    state = UnicodeAttribute()
    locked_until = NumberAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(consumer: str, event_id: str) -> tuple[str, str]:
        return f"INBOX#{consumer}#{event_id}", "INBOX"


class OrdersStore:
    """Every view of the orders table the services take (chalicelib/orders/model.py's Protocols)."""

    def __init__(self, stock: Stock) -> None:
        self.stock = stock

    # -- carts ------------------------------------------------------------------------------

    def cart(self, user_id: str) -> Cart | None:
        item = get_or_none(CartItem, *CartItem.key(user_id))
        return item.cart() if item is not None else None

    def save_cart(self, user_id: str, quantities: dict[int, int], expected_version: int, now: float) -> bool:
        """Write the cart if it is still at `expected_version` (0: absent); an empty cart is
        deleted. False when another write got there first."""
        condition = CartItem.pk.does_not_exist() if expected_version == 0 else CartItem.version == expected_version
        lines = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in quantities.items()]
        try:
            if lines:
                CartItem(
                    *CartItem.key(user_id),
                    user_id=user_id,
                    lines=json.dumps(lines, separators=(",", ":")),
                    version=expected_version + 1,
                    updated_at=now,
                ).save(condition=condition)
            elif expected_version:
                CartItem(*CartItem.key(user_id)).delete(condition=condition)
        except (PutError, DeleteError) as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # -- orders -----------------------------------------------------------------------------

    def place_order(self, order: Order, cart_version: int, max_unpaid: int) -> None:
        """The order, every product's stock taken under `stock >= quantity`, the cart emptied,
        the user's unpaid count raised under `max_unpaid`: all or nothing. Shortfall names the
        products that could not cover it; TooManyUnpaid means the cap; Conflict means the cart
        changed meanwhile."""
        try:
            with transaction(OrdersItem) as steps:
                steps.save(OrderItem.of(order), condition=OrderItem.pk.does_not_exist())
                for product_id, quantity in order.quantities().items():
                    self.stock.take(steps, product_id, quantity, refusal=("short", product_id))
                steps.update(
                    UnpaidCountItem(*UnpaidCountItem.key(order.user_id)),
                    actions=[UnpaidCountItem.tally.add(1)],
                    condition=UnpaidCountItem.tally.does_not_exist() | (UnpaidCountItem.tally < max_unpaid),
                    refusal="unpaid",
                )
                steps.delete(
                    CartItem(*CartItem.key(order.user_id)), condition=CartItem.version == cart_version, refusal="cart"
                )
        except Refused as refused:
            short = tuple(product_id for product_id in order.quantities() if ("short", product_id) in refused.refusals)
            if short:
                raise Shortfall(short) from None
            if "unpaid" in refused.refusals:
                raise TooManyUnpaid() from None
            if "cart" in refused.refusals:
                raise Conflict("The cart changed while the order was being placed; review it and order again") from None
            raise

    def order(self, order_id: str) -> Order | None:
        item = get_or_none(OrderItem, *OrderItem.key(order_id))
        return item.order() if item is not None else None

    def orders_of(self, user_id: str, after: str | None, limit: int) -> tuple[list[Order], str | None]:
        """A user's orders, newest first, from after the sort key `after`; the next page's start."""
        start = (
            {
                "gsi1pk": {"S": user_orders_key(user_id)},
                "gsi1sk": {"S": after},
                "pk": {"S": f"ORDER#{after.rsplit('#', 1)[-1]}"},
                "sk": {"S": "ORDER"},
            }
            if after
            else None
        )
        results = OrderItem.by_user.query(
            user_orders_key(user_id), scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        orders = [item.order() for item in results]
        last = results.last_evaluated_key
        return orders, (last["gsi1sk"]["S"] if last else None)

    def _status_actions(self, to: str, by: str, now: float) -> list[Any]:
        entry = HistoryEntry(status=to, at=now, by=by)
        return [
            OrderItem.status.set(to),
            OrderItem.history.set(OrderItem.history.append([entry])),
            OrderItem.updated_at.set(now),
        ]

    @staticmethod
    def _no_longer_unpaid(steps: Transaction, user_id: str) -> list[Any]:
        """The unpaid count goes down with the transition; the order leaves the sweeper's index."""
        steps.update(UnpaidCountItem(*UnpaidCountItem.key(user_id)), actions=[UnpaidCountItem.tally.add(-1)])
        return [OrderItem.unpaid_key.remove()]

    def change_status(self, order_id: str, current: str, to: str, by: str, now: float) -> bool:
        """Move an order from `current` to `to`; False if it was not in `current` any more."""
        try:
            OrderItem(*OrderItem.key(order_id)).update(
                actions=self._status_actions(to, by, now), condition=OrderItem.status == current
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def cancel(self, order: Order, by: str, now: float, refund: Payment | None = None) -> bool:
        """Cancel the order and put its stock back (and mark its payment refunded), together;
        False if the order left its status meanwhile."""
        try:
            with transaction(OrdersItem) as steps:
                self._cancel_into(steps, order, by, now)
                if refund is not None:
                    self._refund_into(steps, refund)
        except Refused:
            return False
        return True

    def _cancel_into(
        self,
        steps: Transaction,
        order: Order,
        by: str,
        now: float,
        to: str = "cancelled",
        condition: Any = None,
    ) -> None:
        actions = self._status_actions(to, by, now)
        if order.status == UNPAID_STATUS:
            actions += self._no_longer_unpaid(steps, order.user_id)
        unchanged = OrderItem.status == order.status
        steps.update(
            OrderItem(*OrderItem.key(order.order_id)),
            actions=actions,
            condition=unchanged if condition is None else unchanged & condition,
        )
        for product_id, quantity in order.quantities().items():
            self.stock.give_back(steps, product_id, quantity)

    def expire(self, order: Order, now: float) -> bool:
        """An unpaid order past `pay_by` becomes `expired` and gives its stock back, unless it was
        paid, cancelled or claimed by a payer meanwhile (then False: the payment wins)."""
        unclaimed = OrderItem.paying_until.does_not_exist() | (OrderItem.paying_until < now)
        try:
            with transaction(OrdersItem) as steps:
                self._cancel_into(
                    steps, order, "system", now, to="expired", condition=(OrderItem.pay_by <= now) & unclaimed
                )
        except Refused:
            return False
        return True

    def unpaid_due(self, now: float, limit: int) -> list[Order]:
        """Unpaid orders whose `pay_by` has passed, oldest first (the index is eventually consistent)."""
        return [item.order() for item in OrderItem.by_pay_by.query(UNPAID, OrderItem.pay_by <= now, limit=limit)]

    def _refund_into(self, steps: Transaction, payment: Payment) -> None:
        if payment.refund_id is None or payment.refunded_at is None:
            raise ValueError(f"payment {payment.payment_id} carries no refund to record")
        steps.update(
            PaymentItem(*PaymentItem.key(payment.payment_id)),
            actions=[
                PaymentItem.status.set("refunded"),
                PaymentItem.refund_id.set(payment.refund_id),
                PaymentItem.refunded_at.set(payment.refunded_at),
            ],
            condition=PaymentItem.status == "succeeded",
        )

    def refund(self, payment: Payment) -> bool:
        """Mark a payment refunded (its order stays where it is); False if it was not succeeded."""
        try:
            with transaction(OrdersItem) as steps:
                self._refund_into(steps, payment)
        except Refused:
            return False
        return True

    # -- payments ---------------------------------------------------------------------------

    def claim_for_payment(self, order_id: str, payment_id: str, now: float, hold_s: float) -> bool:
        """Reserve a pending order for one payer, so two requests (two idempotency keys, say)
        never charge it twice. The same payer may take it again; a stale claim runs out."""
        free = OrderItem.paying_until.does_not_exist() | (OrderItem.paying_until < now)
        in_time = OrderItem.pay_by.does_not_exist() | (OrderItem.pay_by > now)
        condition = (OrderItem.status == UNPAID_STATUS) & in_time & (free | (OrderItem.paying_id == payment_id))
        try:
            OrderItem(*OrderItem.key(order_id)).update(
                actions=[OrderItem.paying_id.set(payment_id), OrderItem.paying_until.set(now + hold_s)],
                condition=condition,
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release_claim(self, order_id: str, payment_id: str) -> None:
        try:
            OrderItem(*OrderItem.key(order_id)).update(
                actions=[OrderItem.paying_id.remove(), OrderItem.paying_until.remove()],
                condition=OrderItem.paying_id == payment_id,
            )
        except UpdateError as exc:
            if not condition_failed(exc):  # another payer's claim now: not ours to release
                raise

    def record_payment(
        self, payment: Payment, idempotency: IdempotencyRecord, outcome: str, by: str, user_id: str
    ) -> bool:
        """Store the payment and the request's outcome; a succeeded payment also marks the order
        paid. The payer's claim on the order is released either way. False when the claim was
        lost (a payment slower than its hold, the order expired meanwhile): nothing is stored."""
        order = OrderItem(*OrderItem.key(payment.order_id))
        release = [OrderItem.paying_id.remove(), OrderItem.paying_until.remove()]
        claimed = (OrderItem.paying_id == payment.payment_id) & (OrderItem.status == UNPAID_STATUS)
        try:
            with transaction(OrdersItem) as steps:
                steps.save(PaymentItem.of(payment), condition=PaymentItem.pk.does_not_exist())
                if payment.status == "succeeded":
                    actions = [
                        *self._status_actions("paid", by, payment.created_at),
                        OrderItem.payment_id.set(payment.payment_id),
                        *self._no_longer_unpaid(steps, user_id),
                    ]
                    steps.update(order, actions=actions + release, condition=claimed)
                else:
                    steps.update(order, actions=release, condition=claimed)
                self._complete_into(steps, idempotency, outcome)
        except Refused:
            return False
        return True

    def payment(self, payment_id: str) -> Payment | None:
        item = get_or_none(PaymentItem, *PaymentItem.key(payment_id))
        return item.payment() if item is not None else None

    # -- idempotency ------------------------------------------------------------------------

    def claim_request(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        """Take the key for this request; None when taken, else the record that holds it
        (a stale pending one, whose holder died, is taken over)."""
        stale = (IdempotencyItem.state == "pending") & (IdempotencyItem.locked_until < now)
        try:
            IdempotencyItem.of(record).save(condition=IdempotencyItem.pk.does_not_exist() | stale)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            held = get_or_none(IdempotencyItem, *IdempotencyItem.key(record.user_id, record.key_hash))
            return held.record() if held is not None else None
        return None

    def complete_request(self, record: IdempotencyRecord, outcome: str) -> None:
        with transaction(OrdersItem) as steps:
            self._complete_into(steps, record, outcome)

    def _complete_into(self, steps: Transaction, record: IdempotencyRecord, outcome: str) -> None:
        steps.update(
            IdempotencyItem(*IdempotencyItem.key(record.user_id, record.key_hash)),
            actions=[IdempotencyItem.state.set("done"), IdempotencyItem.outcome.set(outcome)],
            condition=IdempotencyItem.state == "pending",
        )

    def release_request(self, record: IdempotencyRecord) -> None:
        """Forget a request that failed unexpectedly, so a retry runs it again."""
        try:
            IdempotencyItem(*IdempotencyItem.key(record.user_id, record.key_hash)).delete(
                condition=IdempotencyItem.state == "pending"
            )
        except DeleteError as exc:
            if not condition_failed(exc):
                raise

    # -- the simulated provider's ledger ----------------------------------------------------

    def add_charge(self, record: ChargeRecord) -> ChargeRecord:
        """Record a charge once per provider key; the one already recorded wins."""
        item = ChargeItem.of(record)
        try:
            item.save(condition=ChargeItem.pk.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
            recorded = get_or_none(ChargeItem, item.pk, item.sk)
            return recorded.record() if recorded is not None else record
        return record

    def refund_charge(self, provider_key: str, refund_id: str) -> ChargeRecord | None:
        """Mark a succeeded charge refunded once; the charge as it is now (None if there is none)."""
        item = ChargeItem(*ChargeItem.key(provider_key))
        try:
            item.update(
                actions=[ChargeItem.refund_id.set(refund_id)],
                condition=(ChargeItem.status == "succeeded") & ChargeItem.refund_id.does_not_exist(),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
        current = get_or_none(ChargeItem, *ChargeItem.key(provider_key))
        return current.record() if current is not None else None

    # -- consumer inbox ---------------------------------------------------------------------

    def claim_event(self, consumer: str, event_id: str, now: float, hold_s: float, keep_s: float) -> str:
        """ "claimed" (go ahead), "done" (handled before) or "busy" (another delivery is on it)."""
        item = InboxItem(
            *InboxItem.key(consumer, event_id), state="working", locked_until=now + hold_s, expires_at=int(now + keep_s)
        )
        stale = (InboxItem.state == "working") & (InboxItem.locked_until < now)
        try:
            item.save(condition=InboxItem.pk.does_not_exist() | stale)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            current = get_or_none(InboxItem, *InboxItem.key(consumer, event_id))
            return "done" if current is not None and current.state == "done" else "busy"
        return "claimed"

    def finish_event(self, consumer: str, event_id: str) -> None:
        InboxItem(*InboxItem.key(consumer, event_id)).update(
            actions=[InboxItem.state.set("done")], condition=InboxItem.pk.exists()
        )

    def release_event(self, consumer: str, event_id: str) -> None:
        InboxItem(*InboxItem.key(consumer, event_id)).delete()
