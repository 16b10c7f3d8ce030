"""The orders context's own refusals, importable without its storage (cold start)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict


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
