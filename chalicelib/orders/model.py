"""Carts, orders, payments and idempotency records as the orders services speak of them, the
storage those services need, and the catalog they price and stock from. Storage-free.

Each Protocol is one service's view of the orders table; chalicelib/orders/store.py is all of
them over DynamoDB, tests/unit/fakes.py all of them in memory. `Offers` is what the orders
context needs of a catalog (chalicelib/catalog's store provides it; the application plugs it
in, chalicelib/composition.py): orders never import the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

UNPAID_STATUS = "pending_payment"


# -- the catalog as orders see it -----------------------------------------------------------------


class Offer(Protocol):
    """A product as an order prices it: the catalog's current title, price and stock."""

    @property
    def id(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def price(self) -> float: ...

    @property
    def stock(self) -> int: ...

    @property
    def thumbnail(self) -> str | None: ...


class Offers(Protocol):
    def products(self, product_ids: Iterable[int], consistent: bool = False) -> Mapping[int, Offer]:
        """The live products among `product_ids`, by id (unknown and deleted ones left out)."""


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cart:
    user_id: str
    # (product id, quantity) in the order products were added.
    lines: tuple[tuple[int, int], ...]
    version: int

    def quantities(self) -> dict[int, int]:
        return dict(self.lines)


@dataclass(frozen=True)
class OrderLine:
    """One line of an order's price snapshot."""

    product_id: int
    title: str
    price_cents: int
    quantity: int
    line_total_cents: int
    thumbnail: str | None = None


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: float
    by: str


@dataclass(frozen=True)
class Order:
    order_id: str
    user_id: str
    email: str | None
    status: str
    lines: tuple[OrderLine, ...]
    total_cents: int
    currency: str
    history: tuple[StatusChange, ...]
    created_at: float
    updated_at: float
    payment_id: str | None = None
    # When an unpaid order expires.
    pay_by: float | None = None

    def quantities(self) -> dict[int, int]:
        return {line.product_id: line.quantity for line in self.lines}


@dataclass(frozen=True)
class Payment:
    payment_id: str
    order_id: str
    user_id: str
    amount_cents: int
    currency: str
    status: str
    payment_method: str
    charge_id: str
    decline_code: str | None
    created_at: float
    refund_id: str | None = None
    refunded_at: float | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """A payment request under one Idempotency-Key: pending while the first request runs, done
    with its outcome (JSON) once that is stored."""

    user_id: str
    key_hash: str
    request_hash: str
    state: str
    outcome: str | None
    locked_until: float
    expires_at: int


@dataclass(frozen=True)
class ChargeRecord:
    """A charge in the simulated provider's ledger, one per provider key."""

    provider_key: str
    charge_id: str
    amount_cents: int
    currency: str
    payment_method: str
    status: str
    decline_code: str | None
    description: str
    created_at: float
    refund_id: str | None = None


# -- refusals the storage reports -----------------------------------------------------------------


class Shortfall(Exception):
    """Products whose stock could not cover an order (or that are gone)."""

    def __init__(self, product_ids: tuple[int, ...]) -> None:
        super().__init__(f"short of products {product_ids}")
        self.product_ids = product_ids


class TooManyUnpaid(Exception):
    """The user holds the most unpaid orders allowed."""


# -- storage --------------------------------------------------------------------------------------


class Carts(Protocol):
    def cart(self, user_id: str) -> Cart | None: ...

    def save_cart(self, user_id: str, quantities: dict[int, int], expected_version: int, now: float) -> bool:
        """Write the cart if it is still at `expected_version` (0: absent); an empty cart is
        deleted. False when another write got there first."""


class OrderBook(Carts, Protocol):
    def place_order(self, order: Order, cart_version: int, max_unpaid: int) -> None:
        """The order, every product's stock taken, the cart emptied, the user's unpaid count
        raised under `max_unpaid`: all or nothing. Shortfall names the products that could not
        cover it; TooManyUnpaid means the cap; Conflict means the cart changed meanwhile."""

    def order(self, order_id: str) -> Order | None: ...

    def orders_of(self, user_id: str, after: str | None, limit: int) -> tuple[list[Order], str | None]:
        """A user's orders, newest first, from after the sort key `after`; the next page's start."""

    def change_status(self, order_id: str, current: str, to: str, by: str, now: float) -> bool:
        """Move an order from `current` to `to`; False if it was not in `current` any more."""

    def cancel(self, order: Order, by: str, now: float, refund: Payment | None = None) -> bool:
        """Cancel the order and put its stock back (and mark `refund` refunded), together;
        False if the order left its status meanwhile."""

    def expire(self, order: Order, now: float) -> bool:
        """Expire an unpaid order past `pay_by` and give its stock back, unless it was paid,
        cancelled or claimed by a payer meanwhile (then False)."""

    def unpaid_due(self, now: float, limit: int) -> list[Order]:
        """Unpaid orders whose `pay_by` has passed, oldest first."""


class PaymentBook(Protocol):
    def order(self, order_id: str) -> Order | None: ...

    def cancel(self, order: Order, by: str, now: float, refund: Payment | None = None) -> bool: ...

    def claim_for_payment(self, order_id: str, payment_id: str, now: float, hold_s: float) -> bool:
        """Reserve a pending order for one payer; the same payer may take it again, a stale
        claim runs out. False when another payer holds it or it is not payable."""

    def release_claim(self, order_id: str, payment_id: str) -> None: ...

    def record_payment(
        self, payment: Payment, idempotency: IdempotencyRecord, outcome: str, by: str, user_id: str
    ) -> bool:
        """Store the payment and the request's outcome; a succeeded payment also marks the order
        paid. False when the payer's claim was lost: nothing is stored."""

    def payment(self, payment_id: str) -> Payment | None: ...

    def refund(self, payment: Payment) -> bool:
        """Mark a payment refunded (its order stays where it is); False if it was not succeeded."""

    def claim_request(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        """Take the key for this request; None when taken, else the record that holds it (a
        stale pending one is taken over)."""

    def complete_request(self, record: IdempotencyRecord, outcome: str) -> None: ...

    def release_request(self, record: IdempotencyRecord) -> None:
        """Forget a request that failed unexpectedly, so a retry runs it again."""


class Ledger(Protocol):
    """The simulated provider's charges (chalicelib/orders/provider.py)."""

    def add_charge(self, record: ChargeRecord) -> ChargeRecord:
        """Record a charge once per provider key; the one already recorded wins."""

    def refund_charge(self, provider_key: str, refund_id: str) -> ChargeRecord | None:
        """Mark a succeeded charge refunded once; the charge as it is now (None if there is none)."""


class Inbox(Protocol):
    """The events a consumer has handled, so a redelivered one has no second effect."""

    def claim_event(self, consumer: str, event_id: str, now: float, hold_s: float, keep_s: float) -> str:
        """ "claimed" (go ahead), "done" (handled before) or "busy" (another delivery is on it)."""

    def finish_event(self, consumer: str, event_id: str) -> None: ...

    def release_event(self, consumer: str, event_id: str) -> None: ...


class OrdersStorage(OrderBook, PaymentBook, Ledger, Inbox, Protocol):
    """Every view of the orders table at once, as chalicelib/orders/store.py and the fakes are."""
