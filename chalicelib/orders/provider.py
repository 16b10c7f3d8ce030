"""Payment providers: the interface the payment service charges through, and a simulated
Stripe-like provider that needs no network.

The simulated provider knows Stripe's test payment methods: `pm_card_visa` (and mastercard,
amex) succeed; `pm_card_chargeDeclined` and `pm_card_insufficientFunds` (and lost/stolen
cards) are declined with Stripe's decline codes. Like Stripe, it is idempotent per key: the
same key charges once and answers the recorded charge again. Its ledger lives in the orders
table (`SIMCHARGE#...`), so every charge it ever made can be counted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import BadRequest, Conflict
from chalicelib.orders.model import ChargeRecord, Ledger

# payment method → decline code (None: the charge succeeds)
TEST_METHODS: dict[str, str | None] = {
    "pm_card_visa": None,
    "pm_card_mastercard": None,
    "pm_card_amex": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_insufficientFunds": "insufficient_funds",
    "pm_card_lostCard": "lost_card",
    "pm_card_stolenCard": "stolen_card",
}


@dataclass(frozen=True)
class Charge:
    id: str
    status: str  # "succeeded" or "declined"
    amount_cents: int
    currency: str
    decline_code: str | None = None


class PaymentProvider(Protocol):
    name: str

    def charge(self, *, amount_cents: int, currency: str, payment_method: str, key: str, description: str) -> Charge:
        """Charge once per `key`; the same key again answers the first charge."""

    def refund(self, *, charge_id: str, key: str) -> str:
        """Refund a succeeded charge once per `key`; the refund's id."""


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class SimulatedStripe:
    name = "simulated-stripe"

    def __init__(self, ledger: Ledger, clock: Callable[[], float] = time.time) -> None:
        self.ledger = ledger
        self.clock = clock

    def charge(self, *, amount_cents: int, currency: str, payment_method: str, key: str, description: str) -> Charge:
        if payment_method not in TEST_METHODS:
            known = ", ".join(TEST_METHODS)
            raise BadRequest(f"No such payment method {payment_method!r}; the simulated provider knows {known}")
        decline = TEST_METHODS[payment_method]
        recorded = self.ledger.add_charge(
            ChargeRecord(
                provider_key=key,
                charge_id=_id("ch", key),
                amount_cents=amount_cents,
                currency=currency,
                payment_method=payment_method,
                status="declined" if decline else "succeeded",
                decline_code=decline,
                description=description,
                created_at=self.clock(),
            )
        )
        return Charge(
            id=recorded.charge_id,
            status=recorded.status,
            amount_cents=recorded.amount_cents,
            currency=recorded.currency,
            decline_code=recorded.decline_code,
        )

    def refund(self, *, charge_id: str, key: str) -> str:
        charge = self.ledger.refund_charge(key, _id("re", key))
        if charge is None or charge.charge_id != charge_id or charge.status != "succeeded":
            raise Conflict(f"Charge {charge_id} cannot be refunded")
        return str(charge.refund_id)
