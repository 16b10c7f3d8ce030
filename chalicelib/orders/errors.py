"""The orders context's own refusals, importable without its storage (cold start)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict, PaymentRequired


class InsufficientStock(Conflict):
    """An order the stock cannot cover; `items` names each product short."""

    slug, title = "insufficient-stock", "Insufficient stock"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        named = ", ".join(
            f"{item['title'] or item['product_id']} (asked {item['requested']}, {item['available']} left)"
            for item in items
        )
        super().__init__(f"Not enough stock for: {named}. Nothing was ordered.")
        self.items = items

    def extensions(self) -> dict[str, Any]:
        return {"items": self.items}


class PaymentDeclined(PaymentRequired):
    """The provider declined the card; the declined payment is kept (and replayed) as it is."""

    slug, title = "payment-declined", "Payment declined"

    def __init__(self, payment: dict[str, Any]) -> None:
        super().__init__(f"The card was declined ({payment['decline_code']}); the order is still pending payment")
        self.payment = payment

    def extensions(self) -> dict[str, Any]:
        return {"decline_code": self.payment["decline_code"], "payment": self.payment}
