"""Who is calling: the one object every protected route receives, however the caller proved it.

Shared by every context: the identity context (chalicelib/auth) turns a credential into a
Principal, the route plumbing (chalicelib/http/routing.py) binds it for the request and checks
it against the route's declaration, and services take it as plain data.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from chalicelib.errors import Forbidden

# What an API key may be allowed to do. JWT callers act with every scope their roles give.
SCOPES = frozenset(
    {
        "profile:read",
        "profile:write",
        "documents:read",
        "documents:write",
        "catalog:read",
        "catalog:write",
        "orders:read",
        "orders:write",
        "tasks:read",
        "tasks:write",
        "logs:read",
        "logs:write",
    }
)


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    roles: tuple[str, ...]
    # "jwt" (our access token), "oidc" (an external issuer's ID token) or "api_key".
    via: str
    # None: every scope (a person with a token); a set: only these (an API key).
    scopes: frozenset[str] | None = None
    session_id: str | None = None
    api_key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def allows(self, scope: str | None) -> bool:
        return scope is None or self.scopes is None or scope in self.scopes

    def acting_for(self, requested: str | None) -> str:
        """Whose data a request reads or writes: the caller's own, or the owner an administrator
        names. Naming anyone else is refused before anything is read, so the refusal says
        nothing about what that owner holds."""
        if requested and requested != self.user_id:
            if not self.is_admin:
                raise Forbidden("Only administrators may name another owner")
            return requested
        return self.user_id


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal:
    """The caller of the route being served; only valid inside a route declared with auth."""
    principal = _current.get()
    if principal is None:
        raise RuntimeError("no principal: the route was not declared with auth=")
    return principal


def bind(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _current.set(principal)


def unbind(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)
