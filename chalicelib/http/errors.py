"""RFC 7807 problem responses, and the one map from domain errors to HTTP statuses."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from chalice import Response

from chalicelib import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

# Looked up along the exception's MRO: the nearest class listed decides.
STATUS_FOR: dict[type[errors.DomainError], int] = {
    errors.BadRequest: 400,
    errors.ValidationFailed: 400,
    errors.Unauthenticated: 401,
    errors.PaymentRequired: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.UnsupportedMediaType: 415,
    errors.UnprocessableEntity: 422,
    errors.PreconditionRequired: 428,
    errors.TooManyRequests: 429,
    errors.DependencyUnavailable: 503,
}
# The headers a refusal's status calls for, likewise by MRO.
HEADERS_FOR: dict[type[errors.DomainError], Callable[[Any], dict[str, str]]] = {
    errors.TooManyRequests: lambda exc: {"Retry-After": str(exc.retry_after_s)},
    errors.Unauthenticated: lambda _: {"WWW-Authenticate": 'Bearer realm="api"'},
}

T = TypeVar("T")


def along_mro(table: Mapping[type[errors.DomainError], T], exc: errors.DomainError) -> T | None:
    """The entry of the nearest class of `exc`'s MRO that `table` lists."""
    return next((table[cls] for cls in type(exc).__mro__ if cls in table), None)


# Errors produced by Chalice itself (routing, content negotiation, its JSON parser) carry
# {"Code", "Message"}; these give them a problem type of ours.
CHALICE_CODES: dict[str, tuple[str, str]] = {
    "BadRequestError": ("bad-request", "Bad request"),
    "BadRequest": ("bad-request", "Bad request"),
    "UnauthorizedError": ("unauthenticated", "Authentication required"),
    "ForbiddenError": ("forbidden", "Forbidden"),
    "NotFoundError": ("not-found", "Not found"),
    "MethodNotAllowedError": ("method-not-allowed", "Method not allowed"),
    "ConflictError": ("conflict", "Conflict"),
    "UnprocessableEntityError": ("unprocessable-entity", "Unprocessable entity"),
    "UnsupportedMediaType": ("unsupported-media-type", "Unsupported media type"),
    "RequestTimeoutError": ("request-timeout", "Request timeout"),
    "TooManyRequestsError": ("too-many-requests", "Too many requests"),
    "InternalServerError": ("internal-error", "Internal server error"),
}


def problem_body(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str | list[str]] | None = None,
    **extra: Any,
) -> Response:
    return Response(
        body=json.dumps(problem_body(status, slug, title, detail, **extra)),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def problem_for(exc: errors.DomainError, headers: Mapping[str, str] | None = None) -> Response:
    """The problem a refusal answers: status by its MRO, type and title from its class, its own
    extensions; `headers` are the route's own (a replayed request's marker, say)."""
    status = along_mro(STATUS_FOR, exc) or 400
    header_of = along_mro(HEADERS_FOR, exc)
    found = {**(header_of(exc) if header_of else {}), **(headers or {})}
    return problem(status, exc.slug, exc.title, exc.detail, headers=found, **exc.extensions())


def internal_error(request_id: str | None) -> Response:
    """The only 500 a caller sees: no exception text, a request id to quote to support."""
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "An unexpected error occurred; quote the request id when reporting it",
        request_id=request_id,
    )


def from_chalice_error(response: Response, request_id: str | None = None) -> Response | None:
    """Rewrite Chalice's own {"Code", "Message"} error bodies as problems; None if not one."""
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    if response.status_code >= 500:
        return internal_error(request_id)
    slug, title = CHALICE_CODES.get(str(body["Code"]), ("error", "Error"))
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return problem(response.status_code, slug, title, str(body["Message"]), headers=headers)
