"""The HTTP middleware every request passes through, errors included.

It gives each request an id (echoed from X-Request-Id when the caller sent a sane one),
refuses bodies over the configured limit, rewrites Chalice's own error bodies as problems,
adds the security and CORS headers, and writes one JSON log line per request.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Response

from chalicelib.config import Settings, get_settings
from chalicelib.http import errors
from chalicelib.jsonlog import get_logger, request_id_var

log = get_logger("http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EXPOSED_HEADERS = "ETag, Location, X-Request-Id, Retry-After"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-API-Key, X-Request-Id"

HSTS = "Strict-Transport-Security"
SECURITY_HEADERS = {
    HSTS: "max-age=63072000; includeSubDomains",
    # JSON APIs load nothing; pages that do (the API docs) set their own policy.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def request_id_from(headers: Mapping[str, str]) -> str:
    incoming = headers.get("x-request-id", "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def cors_headers(origin: str | None, settings: Settings) -> dict[str, str]:
    allowed = settings.cors_allow_origins
    if not allowed:
        return {}
    headers = {
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    }
    if "*" in allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    else:
        return {}
    return headers


def carries_credentials(headers: Mapping[str, str]) -> bool:
    return bool(headers.get("authorization") or headers.get("x-api-key"))


def arrived_over_tls(headers: Mapping[str, str]) -> bool:
    """API Gateway is HTTPS-only and says so in X-Forwarded-Proto; only the local dev server
    serves plain HTTP, and it sends `http` there."""
    return headers.get("x-forwarded-proto", "https").lower() != "http"


def decorate(
    response_headers: dict[str, Any],
    request_id: str,
    origin: str | None,
    settings: Settings,
    authenticated: bool = False,
    tls: bool = True,
) -> None:
    """Add the headers every response carries; a route's own values win. An answer to a request
    with credentials is personal: no shared cache may keep it unless the route says otherwise
    (documents answer `private, no-cache` with their ETag). HSTS only over TLS (RFC 6797 §7.2: a
    browser must ignore it on plain HTTP anyway)."""
    present = {name.lower() for name in response_headers}
    security = SECURITY_HEADERS if tls else {k: v for k, v in SECURITY_HEADERS.items() if k != HSTS}
    extra = {**security, **cors_headers(origin, settings), "X-Request-Id": request_id}
    if authenticated:
        extra["Cache-Control"] = "no-store"
    for name, value in extra.items():
        if name.lower() not in present:
            response_headers[name] = value


def _dispatch(request: Any, get_response: Callable[[Any], Response], settings: Settings, request_id: str) -> Response:
    body = request.raw_body or b""
    if len(body) > settings.max_body_bytes:
        return errors.problem(
            413,
            "payload-too-large",
            "Payload too large",
            f"The body is {len(body)} bytes; the limit is {settings.max_body_bytes}",
        )
    response = get_response(request)
    return errors.from_chalice_error(response, request_id=request_id) or response


def http_middleware(request: Any, get_response: Callable[[Any], Response]) -> Response:
    settings = get_settings()
    request_id = request_id_from(request.headers)
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        try:
            response = _dispatch(request, get_response, settings, request_id)
        except Exception:
            log.exception("unhandled error outside a route")
            response = errors.internal_error(request_id)
        decorate(
            response.headers,
            request_id,
            request.headers.get("origin"),
            settings,
            authenticated=carries_credentials(request.headers),
            tls=arrived_over_tls(request.headers),
        )
        context = request.context or {}
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": context.get("path") or context.get("resourcePath"),
                "route": context.get("resourcePath"),
                "status": response.status_code,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response
    finally:
        request_id_var.reset(token)
