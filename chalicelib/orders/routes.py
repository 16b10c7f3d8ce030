"""Cart, order and payment routes. The seed's paths (`/api/cart/`, `/api/orders/create/`,
`/api/payments/process/`) answer the same as the v1 ones."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.errors import BadRequest
from chalicelib.http import errors
from chalicelib.http.etag import json_with_etag
from chalicelib.http.requests import route_body
from chalicelib.http.routing import Access, ApiBlueprint, QueryParam, json_response
from chalicelib.orders.container import orders
from chalicelib.orders.errors import PaymentDeclined
from chalicelib.principal import current_principal

api = ApiBlueprint(__name__)
CART = ("cart",)
ORDERS = ("orders",)
PAYMENTS = ("payments",)
READ: Access = {"auth": "user", "scope": "orders:read"}
WRITE: Access = {"auth": "user", "scope": "orders:write"}
CART_ITEM = ("/api/cart/items/{product_id}",)


def _product_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 16:
        raise BadRequest(f"{raw!r} is not a product id")
    return int(raw)


def _cart(view: dict[str, Any], cached: bool | None = None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if cached is not None:
        headers["X-Cache"] = "HIT" if cached else "MISS"
    return json_response(view, headers=headers)


# -- cart -----------------------------------------------------------------------------------------


@api.route(
    "/api/v1/cart",
    summary="My cart",
    description="Read through Redis (`cart:<user_id>`): `X-Cache: HIT` when it came from there. Each line shows "
    "the product's current price and stock; `available` is false when the stock no longer covers it.",
    aliases=("/api/cart",),
    tags=CART,
    **READ,
)
def view_cart() -> Response:
    view, cached = orders().carts.view(current_principal().user_id)
    return _cart(view, cached)


@api.route(
    "/api/v1/cart/add",
    ("POST",),
    summary="Add to my cart",
    description="Adds `quantity` (default 1) to the line; the line may not exceed the product's stock (409).",
    aliases=("/api/cart/add",),
    request_schema="cart-add",
    responses={200: "The cart", 404: "No such product", 409: "Not enough stock"},
    tags=CART,
    **WRITE,
)
def add_to_cart() -> Response:
    data = route_body(api.current_request)
    view = orders().carts.add(current_principal().user_id, data["product_id"], data.get("quantity", 1))
    return _cart(view)


@api.route(
    "/api/v1/cart/items/{product_id}",
    ("PATCH",),
    summary="Change a line's quantity",
    aliases=CART_ITEM,
    request_schema="cart-quantity",
    responses={200: "The cart", 404: "Not in the cart", 409: "Not enough stock"},
    tags=CART,
    **WRITE,
)
def set_cart_quantity(product_id: str) -> Response:
    data = route_body(api.current_request)
    return _cart(orders().carts.set_quantity(current_principal().user_id, _product_id(product_id), data["quantity"]))


@api.route(
    "/api/v1/cart/items/{product_id}",
    ("DELETE",),
    summary="Remove a line",
    aliases=CART_ITEM,
    responses={200: "The cart", 404: "Not in the cart"},
    tags=CART,
    **WRITE,
)
def remove_from_cart(product_id: str) -> Response:
    return _cart(orders().carts.remove(current_principal().user_id, _product_id(product_id)))


@api.route(
    "/api/v1/cart",
    ("DELETE",),
    summary="Empty my cart",
    aliases=("/api/cart",),
    responses={204: "Emptied"},
    produces=None,
    tags=CART,
    **WRITE,
)
def clear_cart() -> Response:
    orders().carts.clear(current_principal().user_id)
    return Response(body="", status_code=204)


# -- orders ---------------------------------------------------------------------------------------


@api.route(
    "/api/v1/orders",
    ("POST",),
    summary="Order my cart",
    description="One transaction: the order with a price snapshot and total, each product's stock taken under "
    "`stock >= quantity`, the cart emptied. A shortfall is a 409 `insufficient-stock` problem whose `items` "
    "name each product short, and nothing changes. The order starts `pending_payment`.",
    aliases=("/api/orders/create", "/api/orders"),
    responses={201: "The order", 409: "Empty cart, or not enough stock"},
    tags=ORDERS,
    **WRITE,
)
def place_order() -> Response:
    order = orders().orders.place(current_principal())
    return json_response(order, status=201, headers={"Location": f"/api/v1/orders/{order['id']}"})


@api.route(
    "/api/v1/orders",
    summary="My orders",
    description="Newest first; `next` is the cursor of the following page.",
    aliases=("/api/orders",),
    query=(
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        QueryParam("cursor", {"type": "string"}),
    ),
    tags=ORDERS,
    **READ,
)
def list_orders() -> Response:
    query = api.current_request.query_params or {}
    raw = query.get("limit", "20")
    if not raw.isdigit():
        raise BadRequest(f"limit must be an integer, got {raw!r}")
    return json_response(orders().orders.history(current_principal(), int(raw), query.get("cursor")))


@api.route(
    "/api/v1/orders/{order_id}",
    summary="An order",
    description="With its status history. Another user's order is 404. Strong `ETag`; 304 on `If-None-Match`.",
    aliases=("/api/orders/{order_id}",),
    responses={200: "The order", 304: "Not modified"},
    tags=ORDERS,
    **READ,
)
def get_order(order_id: str) -> Response:
    return json_with_etag(api.current_request, orders().orders.get(current_principal(), order_id))


@api.route(
    "/api/v1/orders/{order_id}/cancel",
    ("POST",),
    summary="Cancel my order",
    description="Only while it is `pending_payment`; its stock goes back.",
    aliases=("/api/orders/{order_id}/cancel",),
    responses={200: "The cancelled order", 409: "Not pending payment"},
    tags=ORDERS,
    **WRITE,
)
def cancel_order(order_id: str) -> Response:
    return json_response(orders().orders.cancel(current_principal(), order_id))


@api.route(
    "/api/v1/orders/{order_id}/status",
    ("PATCH",),
    summary="Advance an order",
    description="Administrators: `paid → shipped → delivered`, `pending_payment → cancelled` (stock goes back). "
    "Anything else is 409; a paid order is cancelled by refunding its payment.",
    aliases=("/api/orders/{order_id}/status",),
    request_schema="order-status",
    responses={200: "The order", 409: "Not allowed from the current status"},
    auth="admin",
    scope="orders:write",
    tags=ORDERS,
)
def set_order_status(order_id: str) -> Response:
    data = route_body(api.current_request)
    return json_response(orders().orders.set_status(current_principal(), order_id, data["status"]))


# -- payments -------------------------------------------------------------------------------------


@api.route(
    "/api/v1/payments/process",
    ("POST",),
    summary="Pay an order",
    description="Charges the order's total (never an amount from the client) through the simulated Stripe "
    "provider. Needs an `Idempotency-Key` header: the same key and body answer the stored response again "
    "(`Idempotent-Replayed: true`) and charge once; the same key with another body is 422. A declined card is a "
    "402 `payment-declined` problem with the `decline_code`. A paid order cannot be paid again (409).",
    aliases=("/api/payments/process",),
    request_schema="payment-process",
    responses={
        200: "The payment (status succeeded)",
        402: "Declined",
        409: "Not payable, or being paid",
        422: "Idempotency-Key reused with another body",
    },
    tags=PAYMENTS,
    **WRITE,
)
def process_payment() -> Response:
    request = api.current_request
    data = route_body(request)
    result = orders().payments.process(current_principal(), request.headers.get("idempotency-key"), data)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    if result.payment["status"] == "declined":
        return errors.problem_for(PaymentDeclined(result.payment), headers)
    return json_response(result.payment, headers=headers)


@api.route(
    "/api/v1/payments/{payment_id}",
    summary="A payment",
    aliases=("/api/payments/{payment_id}",),
    tags=PAYMENTS,
    **READ,
)
def get_payment(payment_id: str) -> Response:
    return json_response(orders().payments.get(current_principal(), payment_id))


@api.route(
    "/api/v1/payments/{payment_id}/refund",
    ("POST",),
    summary="Refund a payment",
    description="Administrators. The provider refunds the charge once; an order not shipped yet is cancelled "
    "and its stock goes back.",
    aliases=("/api/payments/{payment_id}/refund",),
    responses={200: "The refunded payment", 409: "Not refundable"},
    auth="admin",
    scope="orders:write",
    tags=PAYMENTS,
)
def refund_payment(payment_id: str) -> Response:
    return json_response(orders().payments.refund(current_principal(), payment_id))
