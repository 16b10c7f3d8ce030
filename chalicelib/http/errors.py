"""RFC 7807 problem responses, and the one map from domain errors to HTTP statuses."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

STATUS_FOR: dict[type[errors.DomainError], int] = {
    errors.BadRequest: 400,
    errors.ValidationFailed: 400,
    errors.Unauthenticated: 401,
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
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    return Response(
        body=json.dumps(problem_body(status, slug, title, detail, **extra)),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def problem_for(exc: errors.DomainError) -> Response:
    status = next(code for cls, code in STATUS_FOR.items() if isinstance(exc, cls))
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, errors.ValidationFailed):
        extra["errors"] = [{"path": e.path, "message": e.message} for e in exc.errors]
    if isinstance(exc, errors.TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return problem(status, exc.slug, exc.title, exc.detail, headers=headers, **extra)


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
