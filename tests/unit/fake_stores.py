"""In-memory fakes of the storage Protocols the services speak (chalicelib/*/model.py and
chalicelib/documents/types.py), for service tests with no moto and no sockets.

Each honours its Protocol's conditions the way the DynamoDB store does (a create finds its id
taken, a write finds the version or status moved on, a transaction changes all or nothing), so a
service test through a fake exercises the service's own rules and the refusals it must handle.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.auth.model import ApiKey, RefreshToken, Session, User, UserValue
from chalicelib.documents.types import PLATFORM, SCHEMA_TYPE, Stored
from chalicelib.dynamo import Refused
from chalicelib.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.orders.model import (
    UNPAID_STATUS,
    Cart,
    ChargeRecord,
    IdempotencyRecord,
    Order,
    Payment,
    Shortfall,
    StatusChange,
    TooManyUnpaid,
)

# -- documents ------------------------------------------------------------------------------------


class InMemoryDocuments:
    """DocumentStorage: documents by (owner, type, objectId)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], Stored] = {}
        self.reads = 0

    def get(self, owner_id: str, doc_type: str, doc_id: str) -> Stored | None:
        self.reads += 1
        return self.rows.get((owner_id, doc_type, doc_id))

    def create(self, document: Stored) -> Stored:
        key = (document.owner_id, document.doc_type, document.doc_id)
        if key in self.rows:
            raise Conflict(f"A {document.doc_type} with objectId {document.doc_id} already exists")
        self.rows[key] = document
        return document

    def _unchanged(self, owner_id: str, doc_type: str, doc_id: str, if_match: str | None) -> tuple[str, str, str]:
        key = (owner_id, doc_type, doc_id)
        current = self.rows.get(key)
        if current is None:
            raise NotFound(f"No {doc_type} {doc_id}")
        if if_match is not None and current.etag != if_match:
            raise PreconditionFailed("The document changed since you read it: its ETag no longer matches If-Match")
        return key

    def replace(self, document: Stored, if_match: str | None) -> Stored:
        self.rows[self._unchanged(document.owner_id, document.doc_type, document.doc_id, if_match)] = document
        return document

    def delete(self, owner_id: str, doc_type: str, doc_id: str, if_match: str | None) -> None:
        del self.rows[self._unchanged(owner_id, doc_type, doc_id, if_match)]

    def page(
        self, owner_id: str, doc_type: str, org: str | None, after: str | None, page_size: int
    ) -> Iterator[Stored]:
        for (owner, kind, doc_id), stored in sorted(self.rows.items()):
            mine = owner == owner_id and kind == doc_type and (org is None or stored.org == org)
            if mine and (after is None or doc_id > after):
                yield stored

    def skip(self, owner_id: str, doc_type: str, org: str | None, after: str | None, count: int) -> str | None:
        skipped = list(itertools.islice(self.page(owner_id, doc_type, org, after, count), count))
        return skipped[-1].doc_id if len(skipped) == count else None

    def registered_types(self) -> list[str]:
        return sorted(doc_id for (owner, kind, doc_id) in self.rows if (owner, kind) == (PLATFORM, SCHEMA_TYPE))

    def all_of_type(self, doc_type: str) -> Iterator[Stored]:
        yield from (stored for (_, kind, _), stored in sorted(self.rows.items()) if kind == doc_type)


# -- the catalog as orders see it -----------------------------------------------------------------


@dataclass(frozen=True)
class Shelved:
    """A product as the orders context reads it (chalicelib/orders/model.py's Offer)."""

    id: int
    title: str
    price: float
    stock: int
    thumbnail: str | None = None


class InMemoryCatalog:
    """Offers, and the stock the orders fake takes and gives back."""

    def __init__(self, *products: Shelved) -> None:
        self.shelf: dict[int, Shelved] = {product.id: product for product in products}

    def products(self, product_ids: Iterable[int], consistent: bool = False) -> dict[int, Shelved]:
        return {pid: self.shelf[pid] for pid in sorted(set(product_ids)) if pid in self.shelf}

    def stock(self, product_id: int) -> int:
        return self.shelf[product_id].stock

    def move(self, product_id: int, delta: int) -> None:
        self.shelf[product_id] = dataclasses.replace(self.shelf[product_id], stock=self.stock(product_id) + delta)


# -- orders ---------------------------------------------------------------------------------------


@dataclass
class _Claim:
    payment_id: str
    until: float


class InMemoryOrders:
    """Every view of the orders table (chalicelib/orders/model.py's OrdersStorage), over an
    InMemoryCatalog's stock."""

    def __init__(self, catalog: InMemoryCatalog) -> None:
        self.catalog = catalog
        self.carts: dict[str, Cart] = {}
        self.orders: dict[str, Order] = {}
        self.unpaid: dict[str, int] = {}
        self.claims: dict[str, _Claim] = {}
        self.payments: dict[str, Payment] = {}
        self.requests: dict[tuple[str, str], IdempotencyRecord] = {}
        self.charges: dict[str, ChargeRecord] = {}
        self.inbox: dict[tuple[str, str], tuple[str, float]] = {}

    # -- carts ------------------------------------------------------------------------------

    def cart(self, user_id: str) -> Cart | None:
        return self.carts.get(user_id)

    def save_cart(self, user_id: str, quantities: dict[int, int], expected_version: int, now: float) -> bool:
        current = self.carts.get(user_id)
        if (current.version if current else 0) != expected_version:
            return False
        if quantities:
            self.carts[user_id] = Cart(user_id, tuple(quantities.items()), expected_version + 1)
        else:
            self.carts.pop(user_id, None)
        return True

    # -- orders -----------------------------------------------------------------------------

    def place_order(self, order: Order, cart_version: int, max_unpaid: int) -> None:
        assert order.order_id not in self.orders
        quantities = order.quantities()
        short = tuple(
            pid
            for pid, quantity in quantities.items()
            if pid not in self.catalog.shelf or self.catalog.stock(pid) < quantity
        )
        if short:
            raise Shortfall(short)
        if self.unpaid.get(order.user_id, 0) >= max_unpaid:
            raise TooManyUnpaid()
        cart = self.carts.get(order.user_id)
        if cart is None or cart.version != cart_version:
            raise Conflict("The cart changed while the order was being placed; review it and order again")
        self.orders[order.order_id] = order
        for pid, quantity in quantities.items():
            self.catalog.move(pid, -quantity)
        self.unpaid[order.user_id] = self.unpaid.get(order.user_id, 0) + 1
        del self.carts[order.user_id]

    def order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def orders_of(self, user_id: str, after: str | None, limit: int) -> tuple[list[Order], str | None]:
        def key(order: Order) -> str:
            return f"ORDER#{int(order.created_at * 1000):013d}#{order.order_id}"

        mine = sorted((o for o in self.orders.values() if o.user_id == user_id), key=key, reverse=True)
        page = [o for o in mine if after is None or key(o) < after][:limit]
        # DynamoDB names where a page stopped whenever it stopped at the limit.
        return page, (key(page[-1]) if len(page) == limit else None)

    def _moved(self, order: Order, to: str, by: str, now: float, **changes: Any) -> Order:
        history = (*order.history, StatusChange(to, now, by))
        return dataclasses.replace(order, status=to, history=history, updated_at=now, **changes)

    def change_status(self, order_id: str, current: str, to: str, by: str, now: float) -> bool:
        order = self.orders.get(order_id)
        if order is None or order.status != current:
            return False
        self.orders[order_id] = self._moved(order, to, by, now)
        return True

    def _end(self, order: Order, to: str, by: str, now: float) -> bool:
        stored = self.orders.get(order.order_id)
        if stored is None or stored.status != order.status:
            return False
        if any(pid not in self.catalog.shelf for pid in order.quantities()):
            return False
        self.orders[order.order_id] = self._moved(stored, to, by, now)
        if order.status == UNPAID_STATUS:
            self.unpaid[order.user_id] -= 1
        for pid, quantity in order.quantities().items():
            self.catalog.move(pid, quantity)
        return True

    def cancel(self, order: Order, by: str, now: float, refund: Payment | None = None) -> bool:
        if refund is not None and self.payments[refund.payment_id].status != "succeeded":
            return False
        if not self._end(order, "cancelled", by, now):
            return False
        if refund is not None:
            self.refund(refund)
        return True

    def expire(self, order: Order, now: float) -> bool:
        claim = self.claims.get(order.order_id)
        if order.pay_by is None or order.pay_by > now or (claim is not None and claim.until >= now):
            return False
        return self._end(order, "expired", "system", now)

    def unpaid_due(self, now: float, limit: int) -> list[Order]:
        due = [o for o in self.orders.values() if o.status == UNPAID_STATUS and (o.pay_by or 0) <= now]
        return sorted(due, key=lambda o: o.pay_by or 0)[:limit]

    # -- payments ---------------------------------------------------------------------------

    def claim_for_payment(self, order_id: str, payment_id: str, now: float, hold_s: float) -> bool:
        order = self.orders.get(order_id)
        claim = self.claims.get(order_id)
        if order is None or order.status != UNPAID_STATUS or (order.pay_by is not None and order.pay_by <= now):
            return False
        if claim is not None and claim.until >= now and claim.payment_id != payment_id:
            return False
        self.claims[order_id] = _Claim(payment_id, now + hold_s)
        return True

    def release_claim(self, order_id: str, payment_id: str) -> None:
        claim = self.claims.get(order_id)
        if claim is not None and claim.payment_id == payment_id:
            del self.claims[order_id]

    def record_payment(
        self, payment: Payment, idempotency: IdempotencyRecord, outcome: str, by: str, user_id: str
    ) -> bool:
        order = self.orders.get(payment.order_id)
        claim = self.claims.get(payment.order_id)
        request = self.requests.get((idempotency.user_id, idempotency.key_hash))
        if (
            payment.payment_id in self.payments
            or order is None
            or order.status != UNPAID_STATUS
            or claim is None
            or claim.payment_id != payment.payment_id
            or request is None
            or request.state != "pending"
        ):
            return False
        self.payments[payment.payment_id] = payment
        if payment.status == "succeeded":
            paid = self._moved(order, "paid", by, payment.created_at, payment_id=payment.payment_id)
            self.orders[order.order_id] = paid
            self.unpaid[user_id] -= 1
        del self.claims[payment.order_id]
        self.complete_request(idempotency, outcome)
        return True

    def payment(self, payment_id: str) -> Payment | None:
        return self.payments.get(payment_id)

    def refund(self, payment: Payment) -> bool:
        if self.payments[payment.payment_id].status != "succeeded":
            return False
        self.payments[payment.payment_id] = dataclasses.replace(
            self.payments[payment.payment_id],
            status="refunded",
            refund_id=payment.refund_id,
            refunded_at=payment.refunded_at,
        )
        return True

    # -- idempotency ------------------------------------------------------------------------

    def claim_request(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        key = (record.user_id, record.key_hash)
        held = self.requests.get(key)
        if held is not None and not (held.state == "pending" and held.locked_until < now):
            return held
        self.requests[key] = record
        return None

    def complete_request(self, record: IdempotencyRecord, outcome: str) -> None:
        key = (record.user_id, record.key_hash)
        if self.requests[key].state != "pending":
            raise Refused([None])
        self.requests[key] = dataclasses.replace(self.requests[key], state="done", outcome=outcome)

    def release_request(self, record: IdempotencyRecord) -> None:
        key = (record.user_id, record.key_hash)
        if key in self.requests and self.requests[key].state == "pending":
            del self.requests[key]

    # -- the simulated provider's ledger ----------------------------------------------------

    def add_charge(self, record: ChargeRecord) -> ChargeRecord:
        return self.charges.setdefault(record.provider_key, record)

    def refund_charge(self, provider_key: str, refund_id: str) -> ChargeRecord | None:
        charge = self.charges.get(provider_key)
        if charge is not None and charge.status == "succeeded" and charge.refund_id is None:
            charge = self.charges[provider_key] = dataclasses.replace(charge, refund_id=refund_id)
        return charge

    # -- consumer inbox ---------------------------------------------------------------------

    def claim_event(self, consumer: str, event_id: str, now: float, hold_s: float, keep_s: float) -> str:
        state, locked_until = self.inbox.get((consumer, event_id), ("", 0.0))
        if state == "done":
            return "done"
        if state == "working" and locked_until >= now:
            return "busy"
        self.inbox[(consumer, event_id)] = ("working", now + hold_s)
        return "claimed"

    def finish_event(self, consumer: str, event_id: str) -> None:
        self.inbox[(consumer, event_id)] = ("done", 0.0)

    def release_event(self, consumer: str, event_id: str) -> None:
        self.inbox.pop((consumer, event_id), None)


# -- identity -------------------------------------------------------------------------------------


@dataclass
class _Reset:
    user_id: str
    expires_at: int
    used: bool = False


@dataclass
class InMemoryIdentity:
    """IdentityStorage: accounts, their uniqueness claims, sessions, tokens, keys and resets."""

    clock: Callable[[], float] = time.time
    users: dict[str, User] = field(default_factory=dict)
    claims: dict[tuple[str, str], str] = field(default_factory=dict)
    families: dict[str, Session] = field(default_factory=dict)
    tokens: dict[str, RefreshToken] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    resets: dict[str, _Reset] = field(default_factory=dict)
    security_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def create_user(self, user: User, claims: list[tuple[str, str]]) -> None:
        assert user.user_id not in self.users
        for kind, value in claims:
            if (kind, value) in self.claims:
                raise Conflict(f"That {kind} is already taken")
        self.users[user.user_id] = user
        self.claims.update({claim: user.user_id for claim in claims})

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def token_generation(self, user_id: str) -> int | None:
        user = self.users.get(user_id)
        return user.token_generation if user is not None else None

    def user_by_claim(self, kind: str, value: str) -> User | None:
        user_id = self.claims.get((kind, value))
        return self.users.get(user_id) if user_id is not None else None

    def _change(self, user_id: str, **changes: Any) -> User:
        user = self.users[user_id] = dataclasses.replace(self.users[user_id], **changes, updated_at=self.clock())
        return user

    def set_user(self, user_id: str, changes: Mapping[str, UserValue]) -> User:
        return self._change(user_id, **changes)

    def rehash_password(self, user_id: str, expected_hash: str, new_hash: str) -> bool:
        if self.users[user_id].password_hash != expected_hash:
            return False
        self._change(user_id, password_hash=new_hash)
        return True

    def set_password(self, user_id: str, password_hash: str, via: str, now: float) -> User:
        return self._change(
            user_id,
            password_hash=password_hash,
            tokens_valid_after=now,
            token_generation=self.users[user_id].token_generation + 1,
            password_changed_at=now,
            password_changed_via=via,
            reset_token_hash=None,
        )

    def confirm_email_change(self, user: User, token_hash: str, old_key: str, new_key: str) -> bool:
        if ("email", new_key) in self.claims:
            raise Conflict("That email is already taken")
        if self.users[user.user_id].pending_email_hash != token_hash:
            return False
        if self.claims.get(("email", old_key)) == user.user_id:
            del self.claims[("email", old_key)]
        self.claims[("email", new_key)] = user.user_id
        self._change(
            user.user_id,
            email=user.pending_email,
            pending_email=None,
            pending_email_hash=None,
            pending_email_expires_at=None,
            reset_token_hash=None,
        )
        return True

    def record_security_event(self, event_id: str, event_type: str, data: dict[str, Any], now: float) -> None:
        self.security_events.append((event_type, data))

    def create_family(self, family_id: str, user_id: str, expires_at: float) -> None:
        self.families[family_id] = Session(family_id, user_id, False, int(expires_at))

    def family(self, family_id: str) -> Session | None:
        return self.families.get(family_id)

    def session_ended(self, family_id: str) -> bool:
        family = self.families.get(family_id)
        return family is None or family.revoked

    def revoke_family(self, family_id: str) -> None:
        if family_id in self.families:
            self.families[family_id] = dataclasses.replace(self.families[family_id], revoked=True)

    def create_refresh(self, token: RefreshToken) -> None:
        assert token.token_id not in self.tokens
        self.tokens[token.token_id] = token

    def refresh_token(self, token_id: str) -> RefreshToken | None:
        return self.tokens.get(token_id)

    def spend_refresh(self, token_id: str) -> bool:
        token = self.tokens.get(token_id)
        if token is None or token.status != "active":
            return False
        self.tokens[token_id] = dataclasses.replace(token, status="spent")
        return True

    def create_api_key(self, key: ApiKey) -> None:
        assert key.key_id not in self.keys
        self.keys[key.key_id] = key

    def api_key(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    def api_keys_of(self, user_id: str) -> list[ApiKey]:
        return sorted((k for k in self.keys.values() if k.user_id == user_id), key=lambda k: (k.created_at, k.key_id))

    def replace_api_key_secret(self, key_id: str, prefix: str, secret_hash: str) -> None:
        self.keys[key_id] = dataclasses.replace(self.keys[key_id], prefix=prefix, secret_hash=secret_hash)

    def touch_api_key(self, key: ApiKey, now: float) -> None:
        stored = self.keys.get(key.key_id)
        if stored is not None and (stored.last_used_at is None or stored.last_used_at < now - 60):
            self.keys[key.key_id] = dataclasses.replace(stored, last_used_at=now)

    def delete_api_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)

    def delete_api_keys_of(self, user_id: str) -> int:
        mine = [k.key_id for k in self.api_keys_of(user_id)]
        for key_id in mine:
            del self.keys[key_id]
        return len(mine)

    def create_reset(self, token_hash: str, user_id: str, expires_at: float) -> None:
        self.resets[token_hash] = _Reset(user_id, int(expires_at))
        self._change(user_id, reset_token_hash=token_hash)

    def reset_owner(self, token_hash: str, now: float) -> str | None:
        reset = self.resets.get(token_hash)
        return reset.user_id if reset is not None and not reset.used and reset.expires_at > now else None

    def use_reset(self, token_hash: str, user_id: str, now: float) -> bool:
        reset = self.resets.get(token_hash)
        user = self.users.get(user_id)
        if (
            reset is None
            or reset.used
            or reset.expires_at <= int(now)
            or reset.user_id != user_id
            or user is None
            or user.reset_token_hash != token_hash
        ):
            return False
        reset.used = True
        return True
