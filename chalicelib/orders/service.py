"""Carts, orders and payments. Framework-free: plain data in, plain data out, domain errors.

- The cart is durable in DynamoDB and read through Redis (`cart:<user_id>`); every change
  drops the cached copy. Quantities are positive and checked against stock when they grow.
- An order is placed in one transaction: the order with a price snapshot, every product's
  stock taken under `stock >= quantity`, the cart emptied. A shortfall changes nothing.
- A payment charges the order's own total through the provider, once per Idempotency-Key:
  the first request's outcome is stored with the payment, and a retry answers it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.cache import Cache
from chalicelib.errors import BadRequest, Conflict, DomainError, NotFound, UnprocessableEntity
from chalicelib.http import paging
from chalicelib.orders.errors import InsufficientStock
from chalicelib.orders.model import (
    UNPAID_STATUS,
    Carts,
    IdempotencyRecord,
    Offer,
    Offers,
    Order,
    OrderBook,
    OrderLine,
    Payment,
    PaymentBook,
    Shortfall,
    StatusChange,
    TooManyUnpaid,
)
from chalicelib.orders.provider import PaymentProvider
from chalicelib.principal import Principal

CURRENCY = "usd"
MAX_LINES = 50  # a transaction holds at most 100 items: the order, the cart and the products
WRITE_ATTEMPTS = 5
MAX_PAGE = 100

# status → the statuses it may go to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending_payment": ("paid", "cancelled", "expired"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
    # Not paid within the payment window: the sweeper gave its stock back.
    "expired": (),
}
SWEEP_BATCH = 100
# What an administrator may set by hand; `paid` comes from a payment, a paid order's
# cancellation from its refund.
ADMIN_TARGETS = ("shipped", "delivered", "cancelled")


def cents(price: float | int | str) -> int:
    return int((Decimal(str(price)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def amount(value_cents: int) -> float:
    return float(Decimal(value_cents) / 100)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


class PaymentInProgress(Conflict):
    """Another request is paying the order: worth retrying, so never stored as an outcome."""


# -- cart -----------------------------------------------------------------------------------------


class CartService:
    def __init__(self, store: Carts, catalog: Offers, cache: Cache, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.catalog = catalog
        self.cache = cache
        self.clock = clock

    def cache_key(self, user_id: str) -> str:
        return self.cache.key(user_id)

    def view(self, user_id: str) -> tuple[dict[str, Any], bool]:
        """The cart as shown, and whether it came from the cache."""
        cached = self.cache.get(self.cache_key(user_id))
        if cached is not None:
            return json.loads(cached), True
        cart = self.store.cart(user_id)
        shown = self.render(user_id, cart.quantities() if cart else {})
        self.cache.add(self.cache_key(user_id), json.dumps(shown).encode())
        return shown, False

    def render(self, user_id: str, quantities: dict[int, int]) -> dict[str, Any]:
        products = self.catalog.products(quantities)
        items: list[dict[str, Any]] = []
        total = 0
        for product_id, quantity in quantities.items():
            product = products.get(product_id)
            if product is None:
                items.append({"product_id": product_id, "quantity": quantity, "available": False})
                continue
            line_cents = cents(product.price) * quantity
            total += line_cents
            items.append(
                {
                    "product_id": product_id,
                    "title": product.title,
                    "price": product.price,
                    "quantity": quantity,
                    "line_total": amount(line_cents),
                    "thumbnail": product.thumbnail,
                    "stock": product.stock,
                    "available": product.stock >= quantity,
                }
            )
        return {
            "user_id": user_id,
            "items": items,
            "count": len(items),
            "total_quantity": sum(quantities.values()),
            "total": amount(total),
            "currency": CURRENCY,
        }

    def _change(self, user_id: str, change: Callable[[dict[int, int]], dict[int, int]]) -> dict[str, Any]:
        for _ in range(WRITE_ATTEMPTS):
            cart = self.store.cart(user_id)
            current = cart.quantities() if cart else {}
            wanted = change(dict(current))
            if len(wanted) > MAX_LINES:
                raise Conflict(f"A cart holds at most {MAX_LINES} different products")
            self._check_stock({pid: q for pid, q in wanted.items() if q > current.get(pid, 0)})
            if self.store.save_cart(user_id, wanted, cart.version if cart else 0, self.clock()):
                self.cache.delete(self.cache_key(user_id))
                return self.render(user_id, wanted)
        raise Conflict("The cart is changing too fast; try again")

    def _check_stock(self, grown: dict[int, int]) -> None:
        products = self.catalog.products(grown)
        for product_id, quantity in grown.items():
            product = products.get(product_id)
            if product is None:
                raise NotFound(f"No product {product_id}")
            if product.stock < quantity:
                raise Conflict(f"Only {product.stock} of {product.title!r} in stock; the cart would hold {quantity}")

    def add(self, user_id: str, product_id: int, quantity: int) -> dict[str, Any]:
        def added(lines: dict[int, int]) -> dict[int, int]:
            lines[product_id] = lines.get(product_id, 0) + quantity
            return lines

        return self._change(user_id, added)

    def set_quantity(self, user_id: str, product_id: int, quantity: int) -> dict[str, Any]:
        def updated(lines: dict[int, int]) -> dict[int, int]:
            if product_id not in lines:
                raise NotFound(f"Product {product_id} is not in the cart")
            lines[product_id] = quantity
            return lines

        return self._change(user_id, updated)

    def remove(self, user_id: str, product_id: int) -> dict[str, Any]:
        def removed(lines: dict[int, int]) -> dict[int, int]:
            if lines.pop(product_id, None) is None:
                raise NotFound(f"Product {product_id} is not in the cart")
            return lines

        return self._change(user_id, removed)

    def clear(self, user_id: str) -> None:
        self._change(user_id, lambda lines: {})


# -- orders ---------------------------------------------------------------------------------------


def order_view(order: Order, with_history: bool = True) -> dict[str, Any]:
    view = {
        "id": order.order_id,
        "user_id": order.user_id,
        "status": order.status,
        "items": [
            {
                "product_id": line.product_id,
                "title": line.title,
                "price": amount(line.price_cents),
                "quantity": line.quantity,
                "line_total": amount(line.line_total_cents),
                "thumbnail": line.thumbnail,
            }
            for line in order.lines
        ],
        "total": amount(order.total_cents),
        "total_cents": order.total_cents,
        "currency": order.currency,
        "payment_id": order.payment_id,
        "pay_by": iso(order.pay_by) if order.status == UNPAID_STATUS else None,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }
    if with_history:
        view["history"] = [{"status": h.status, "at": iso(h.at), "by": h.by} for h in order.history]
    return view


def encode_cursor(after: str) -> str:
    return paging.encode_cursor(after)


def _is_order_key(after: Any) -> bool:
    return isinstance(after, str) and after.startswith("ORDER#") and after.count("#") == 2


def decode_cursor(cursor: str) -> str:
    after: str = paging.decode_cursor(cursor, _is_order_key)
    return after


class OrderService:
    def __init__(
        self,
        store: OrderBook,
        catalog: Offers,
        carts: CartService,
        email_of: Callable[[str], str | None],
        clock: Callable[[], float] = time.time,
        payment_window_s: float = 1800,
        max_unpaid: int = 5,
        new_id: Callable[[], str] = lambda: f"ord_{uuid.uuid4().hex[:20]}",
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.carts = carts
        # The address an order's confirmation goes to (the identity context's, plugged in).
        self.email_of = email_of
        self.clock = clock
        self.payment_window_s = payment_window_s
        self.max_unpaid = max_unpaid
        self.new_id = new_id

    def place(self, principal: Principal) -> dict[str, Any]:
        user_id = principal.user_id
        cart = self.store.cart(user_id)
        quantities = cart.quantities() if cart else {}
        if cart is None or not quantities:
            raise Conflict("The cart is empty")
        products = self.catalog.products(quantities, consistent=True)
        gone = [pid for pid in quantities if pid not in products]
        if gone:
            raise InsufficientStock(self._shortfall(gone, quantities, products))
        now = self.clock()
        lines = tuple(self._line(products[pid], quantity) for pid, quantity in quantities.items())
        order = Order(
            order_id=self.new_id(),
            user_id=user_id,
            email=self.email_of(user_id),
            status=UNPAID_STATUS,
            lines=lines,
            total_cents=sum(line.line_total_cents for line in lines),
            currency=CURRENCY,
            history=(StatusChange(UNPAID_STATUS, now, user_id),),
            created_at=now,
            updated_at=now,
            pay_by=now + self.payment_window_s,
        )
        try:
            self.store.place_order(order, cart.version, self.max_unpaid)
        except TooManyUnpaid:
            raise Conflict(
                f"You have {self.max_unpaid} orders awaiting payment; pay or cancel one before ordering again"
            ) from None
        except Shortfall as short:
            current = self.catalog.products(short.product_ids, consistent=True)
            raise InsufficientStock(self._shortfall(list(short.product_ids), quantities, current)) from None
        self.carts.cache.delete(self.carts.cache_key(user_id))
        return order_view(order)

    @staticmethod
    def _line(product: Offer, quantity: int) -> OrderLine:
        price_cents = cents(product.price)
        return OrderLine(
            product_id=product.id,
            title=product.title,
            price_cents=price_cents,
            quantity=quantity,
            line_total_cents=price_cents * quantity,
            thumbnail=product.thumbnail,
        )

    @staticmethod
    def _shortfall(
        product_ids: list[int], quantities: dict[int, int], products: Mapping[int, Offer]
    ) -> list[dict[str, Any]]:
        items = []
        for product_id in product_ids:
            product = products.get(product_id)
            items.append(
                {
                    "product_id": product_id,
                    "title": product.title if product else None,
                    "requested": quantities[product_id],
                    "available": product.stock if product else 0,
                }
            )
        return items

    def _own(self, principal: Principal, order_id: str) -> Order:
        order = self.store.order(order_id)
        # Another user's order is indistinguishable from a missing one.
        if order is None or (order.user_id != principal.user_id and not principal.is_admin):
            raise NotFound(f"No order {order_id}")
        return order

    def get(self, principal: Principal, order_id: str) -> dict[str, Any]:
        return order_view(self._own(principal, order_id))

    def history(self, principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        items, last = self.store.orders_of(principal.user_id, decode_cursor(cursor) if cursor else None, limit)
        views = [order_view(order, with_history=False) for order in items]
        return {"items": views, "count": len(views), "next": encode_cursor(last) if last else None}

    def cancel(self, principal: Principal, order_id: str) -> dict[str, Any]:
        """The owner cancels an order that is not paid yet; its stock goes back."""
        order = self._own(principal, order_id)
        if order.status != UNPAID_STATUS:
            raise Conflict(f"Order {order_id} is {order.status}; only an order pending payment can be cancelled")
        if not self.store.cancel(order, by=principal.user_id, now=self.clock()):
            raise Conflict(f"Order {order_id} changed meanwhile; read it again")
        return self.get(principal, order_id)

    def expire_due(self) -> dict[str, int]:
        """The sweeper: every unpaid order past its payment window expires and gives its stock
        back, unless a payer holds it (then the payment decides)."""
        now = self.clock()
        counts = {"expired": 0, "kept": 0}
        for order in self.store.unpaid_due(now, SWEEP_BATCH):
            counts["expired" if self.store.expire(order, now) else "kept"] += 1
        return counts

    def set_status(self, principal: Principal, order_id: str, to: str) -> dict[str, Any]:
        order = self._own(principal, order_id)
        current = order.status
        if to not in TRANSITIONS[current]:
            allowed = ", ".join(TRANSITIONS[current]) or "nowhere"
            raise Conflict(f"Order {order_id} is {current}; it cannot become {to} (from {current}: {allowed})")
        if to == "paid":
            raise Conflict("An order becomes paid by a payment, not by hand")
        if to == "expired":
            raise Conflict("An order expires by itself when its payment window ends")
        if to == "cancelled" and current == "paid":
            raise Conflict("A paid order is cancelled by refunding its payment")
        if to == "cancelled":
            changed = self.store.cancel(order, by=principal.user_id, now=self.clock())
        else:
            changed = self.store.change_status(order_id, current, to, by=principal.user_id, now=self.clock())
        if not changed:
            raise Conflict(f"Order {order_id} changed meanwhile; read it again")
        return self.get(principal, order_id)


# -- payments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    payment: dict[str, Any]
    replayed: bool


# Refusals a stored outcome may hold; a retry raises the same one again.
REPLAYABLE: dict[str, type[DomainError]] = {cls.__name__: cls for cls in (BadRequest, NotFound, Conflict)}


def payment_view(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.payment_id,
        "order_id": payment.order_id,
        "status": payment.status,
        "amount": payment.amount_cents,
        "currency": payment.currency,
        "payment_method": payment.payment_method,
        "charge_id": payment.charge_id,
        "decline_code": payment.decline_code,
        "created_at": iso(payment.created_at),
        "refunded_at": iso(payment.refunded_at),
    }


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PaymentService:
    def __init__(
        self,
        store: PaymentBook,
        provider: PaymentProvider,
        clock: Callable[[], float] = time.time,
        hold_s: float = 30.0,
        keep_s: float = 24 * 3600.0,
    ) -> None:
        self.store = store
        self.provider = provider
        self.clock = clock
        self.hold_s = hold_s
        self.keep_s = keep_s

    def process(self, principal: Principal, key: str | None, request: dict[str, Any]) -> PaymentResult:
        if not key or len(key) > 255 or not key.isprintable():
            raise BadRequest("An Idempotency-Key header (1-255 printable characters) is required")
        now = self.clock()
        key_hash = _hash(key)[:40]
        record = IdempotencyRecord(
            user_id=principal.user_id,
            key_hash=key_hash,
            request_hash=_hash(json.dumps(request, sort_keys=True, separators=(",", ":"))),
            state="pending",
            outcome=None,
            locked_until=now + self.hold_s,
            expires_at=int(now + self.keep_s),
        )
        held = self.store.claim_request(record, now)
        if held is not None:
            return self._replay(held, record.request_hash)
        # The provider's key is derived from ours, so a retry after a crash charges nothing new.
        payment_id = f"pay_{_hash(f'{principal.user_id}:{key_hash}')[:24]}"
        try:
            return PaymentResult(self._pay(principal, payment_id, request, record), replayed=False)
        except DomainError as exc:
            if type(exc).__name__ in REPLAYABLE:
                self.store.complete_request(record, json.dumps({"error": type(exc).__name__, "detail": exc.detail}))
            else:
                self.store.release_request(record)
            raise
        except Exception:
            self.store.release_request(record)
            raise

    @staticmethod
    def _replay(held: IdempotencyRecord, request_hash: str) -> PaymentResult:
        if held.request_hash != request_hash:
            raise UnprocessableEntity("This Idempotency-Key was used with a different request body")
        if held.state != "done" or held.outcome is None:
            raise Conflict("A request with this Idempotency-Key is still being processed; retry in a moment")
        outcome = json.loads(held.outcome)
        if "error" in outcome:
            raise REPLAYABLE[outcome["error"]](outcome["detail"])
        return PaymentResult(outcome["payment"], replayed=True)

    def _pay(
        self, principal: Principal, payment_id: str, request: dict[str, Any], record: IdempotencyRecord
    ) -> dict[str, Any]:
        order_id = request["order_id"]
        order = self.store.order(order_id)
        if order is None or order.user_id != principal.user_id:
            raise NotFound(f"No order {order_id}")
        if order.status != UNPAID_STATUS:
            raise Conflict(f"Order {order_id} is {order.status}; only an order pending payment can be paid")
        now = self.clock()
        if not self.store.claim_for_payment(order_id, payment_id, now, self.hold_s):
            current = self.store.order(order_id)
            if current is not None and current.status != UNPAID_STATUS:
                raise Conflict(f"Order {order_id} is {current.status}; only an order pending payment can be paid")
            raise PaymentInProgress(f"Another payment for order {order_id} is in progress; retry in a moment")
        try:
            charge = self.provider.charge(
                amount_cents=order.total_cents,
                currency=order.currency,
                payment_method=request["payment_method_id"],
                key=payment_id,
                description=f"Order {order_id}",
            )
        except Exception:
            self.store.release_claim(order_id, payment_id)
            raise
        payment = Payment(
            payment_id=payment_id,
            order_id=order_id,
            user_id=principal.user_id,
            amount_cents=charge.amount_cents,
            currency=charge.currency,
            status=charge.status,
            payment_method=request["payment_method_id"],
            charge_id=charge.id,
            decline_code=charge.decline_code,
            created_at=now,
        )
        view = payment_view(payment)
        if not self.store.record_payment(
            payment, record, json.dumps({"payment": view}), by=principal.user_id, user_id=order.user_id
        ):
            # Slower than its claim, and the order expired meanwhile: the expiry won, so the
            # money goes back (the provider's key makes this refund happen once).
            if charge.status == "succeeded":
                self.provider.refund(charge_id=charge.id, key=payment_id)
            raise Conflict(f"Order {order_id} expired while it was being paid; the charge was refunded")
        return view

    def get(self, principal: Principal, payment_id: str) -> dict[str, Any]:
        payment = self.store.payment(payment_id)
        if payment is None or (payment.user_id != principal.user_id and not principal.is_admin):
            raise NotFound(f"No payment {payment_id}")
        return payment_view(payment)

    def refund(self, principal: Principal, payment_id: str) -> dict[str, Any]:
        """Refund a succeeded payment; an order not shipped yet is cancelled and restocked with it."""
        payment = self.store.payment(payment_id)
        if payment is None:
            raise NotFound(f"No payment {payment_id}")
        if payment.status != "succeeded":
            raise Conflict(f"Payment {payment_id} is {payment.status}; only a succeeded payment can be refunded")
        refund_id = self.provider.refund(charge_id=payment.charge_id, key=payment_id)
        refunded_at = self.clock()
        payment = dataclasses.replace(payment, refund_id=refund_id, refunded_at=refunded_at)
        order = self.store.order(payment.order_id)
        if order is not None and order.status == "paid":
            done = self.store.cancel(order, by=principal.user_id, now=refunded_at, refund=payment)
        else:
            done = self.store.refund(payment)
        if not done:
            raise Conflict(f"Payment {payment_id} or its order changed meanwhile; read them again")
        return payment_view(dataclasses.replace(payment, status="refunded"))
