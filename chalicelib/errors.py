"""Domain errors: what a service raises when it refuses. Framework-free.

chalicelib/http/errors.py maps each class to an HTTP status and an RFC 7807 problem in
one place, looked up along the exception's MRO (as Starlette's exception handlers are): a
subclass (`InsufficientStock` of `Conflict`) answers its base's status with a type of its own,
and carries the problem's extra members itself (`extensions`). Services never think in status
codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One validation failure: where (a JSON path such as `$.items[2].price`) and why."""

    path: str
    message: str


class DomainError(Exception):
    """Base for every refusal a caller can act on."""

    slug = "domain-error"
    title = "Request refused"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    def extensions(self) -> dict[str, Any]:
        """The problem's members beyond type, title, status and detail (RFC 7807 §3.2)."""
        return {}


class BadRequest(DomainError):
    slug, title = "bad-request", "Bad request"


class ValidationFailed(DomainError):
    slug, title = "validation-failed", "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str = "") -> None:
        super().__init__(detail or f"{len(errors)} validation error(s)")
        self.errors = errors

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"path": e.path, "message": e.message} for e in self.errors]}


class Unauthenticated(DomainError):
    slug, title = "unauthenticated", "Authentication required"


class PaymentRequired(DomainError):
    slug, title = "payment-required", "Payment required"


class Forbidden(DomainError):
    slug, title = "forbidden", "Forbidden"


class NotFound(DomainError):
    slug, title = "not-found", "Not found"


class Conflict(DomainError):
    slug, title = "conflict", "Conflict"


class UnsupportedMediaType(DomainError):
    slug, title = "unsupported-media-type", "Unsupported media type"


class UnprocessableEntity(DomainError):
    slug, title = "unprocessable-entity", "Unprocessable entity"


class PreconditionFailed(DomainError):
    slug, title = "precondition-failed", "Precondition failed"


class PreconditionRequired(DomainError):
    slug, title = "precondition-required", "Precondition required"


class TooManyRequests(DomainError):
    slug, title = "too-many-requests", "Too many requests"

    def __init__(self, detail: str = "", retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class DependencyUnavailable(DomainError):
    slug, title = "dependency-unavailable", "A backing service is unavailable"
