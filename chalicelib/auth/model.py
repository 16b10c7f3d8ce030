"""Accounts, login sessions, refresh tokens and API keys as the identity service speaks of them,
and the storage it needs (`IdentityStorage`: chalicelib/auth/store.py is it over DynamoDB,
tests/unit/fakes.py in memory). Storage-free.

Every change that must not race is the storage's conditional write: a username or email is
claimed by a write that fails if the claim exists; a refresh token is spent only while it is
active; a reset token is used once, and only while it is its account's latest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# What `IdentityStorage.set_user` may set an account's attribute to (None removes it).
UserValue = str | int | float | tuple[str, ...] | None


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    email: str
    first_name: str = ""
    last_name: str = ""
    password_hash: str | None = None
    roles: tuple[str, ...] = ("user",)
    created_at: float = 0.0
    updated_at: float = 0.0
    # Refresh tokens issued before this moment are void (password change or reset).
    tokens_valid_after: float = 0.0
    # Access tokens carry the generation they were issued under; a password change or reset
    # increments it, voiding every earlier one (chalicelib/auth/revocation.py).
    token_generation: int = 0
    password_changed_at: float | None = None
    # "change" or "reset": what the audit trail says about the last password change.
    password_changed_via: str | None = None
    # An email change waiting for its confirmation link to be opened; the old email stays in force.
    pending_email: str | None = None
    pending_email_hash: str | None = None
    pending_email_expires_at: int | None = None
    # The SHA-256 of the only reset link that still works: a newer link voids the older ones.
    reset_token_hash: str | None = None
    # "<issuer> <sub>" for users created from an external OIDC token.
    external_identity: str | None = None


@dataclass(frozen=True)
class Session:
    """A login session: every refresh token rotated from one login shares it (a "family")."""

    family_id: str
    user_id: str
    revoked: bool
    expires_at: int


@dataclass(frozen=True)
class RefreshToken:
    token_id: str
    family_id: str
    user_id: str
    secret_hash: str
    issued_at: float
    expires_at: int
    # "active" until spent by a refresh.
    status: str = "active"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    user_id: str
    name: str
    prefix: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: float
    last_used_at: float | None = None
    expires_at: int | None = None


class IdentityStorage(Protocol):
    # -- users and uniqueness ---------------------------------------------------------------

    def create_user(self, user: User, claims: list[tuple[str, str]]) -> None:
        """Write the user and its claims (kind, value) together; Conflict names a taken claim."""

    def user(self, user_id: str) -> User | None: ...

    def token_generation(self, user_id: str) -> int | None:
        """The account's token generation (None: no such account), for the revocation cache."""

    def user_by_claim(self, kind: str, value: str) -> User | None: ...

    def set_user(self, user_id: str, changes: Mapping[str, UserValue]) -> User:
        """Change only the named attributes (never the whole account, which would undo a
        concurrent password change); the account as it is now."""

    def rehash_password(self, user_id: str, expected_hash: str, new_hash: str) -> bool:
        """Replace the hash only if it is still `expected_hash`: never undoes a concurrent change."""

    def set_password(self, user_id: str, password_hash: str, via: str, now: float) -> User:
        """The new hash and, in the same write, every earlier token void (refresh tokens by time,
        access tokens by a new token generation) and the reset link dead; the account as it is now."""

    def confirm_email_change(self, user: User, token_hash: str, old_key: str, new_key: str) -> bool:
        """Make the pending email the account's, claimed and swapped in one write conditioned on
        the link being the latest. False when the link was replaced or used meanwhile; Conflict
        when the address was taken."""

    def record_security_event(self, event_id: str, event_type: str, data: dict[str, Any], now: float) -> None:
        """A security event no other change records (a failed-login burst), for the audit trail."""

    # -- sessions and refresh tokens --------------------------------------------------------

    def create_family(self, family_id: str, user_id: str, expires_at: float) -> None: ...

    def family(self, family_id: str) -> Session | None: ...

    def session_ended(self, family_id: str) -> bool:
        """Whether a login session was logged out or revoked."""

    def revoke_family(self, family_id: str) -> None: ...

    def create_refresh(self, token: RefreshToken) -> None: ...

    def refresh_token(self, token_id: str) -> RefreshToken | None: ...

    def spend_refresh(self, token_id: str) -> bool:
        """Mark the token spent if, and only if, it is still active. False: it was already spent."""

    # -- API keys ---------------------------------------------------------------------------

    def create_api_key(self, key: ApiKey) -> None: ...

    def api_key(self, key_id: str) -> ApiKey | None: ...

    def api_keys_of(self, user_id: str) -> list[ApiKey]:
        """A user's keys, oldest first."""

    def replace_api_key_secret(self, key_id: str, prefix: str, secret_hash: str) -> None: ...

    def touch_api_key(self, key: ApiKey, now: float) -> None:
        """Record use, at most once a minute per key."""

    def delete_api_key(self, key_id: str) -> None: ...

    def delete_api_keys_of(self, user_id: str) -> int:
        """Delete every key of a user; how many there were."""

    # -- password resets --------------------------------------------------------------------

    def create_reset(self, token_hash: str, user_id: str, expires_at: float) -> None:
        """Store a reset token and make it the account's only live one, together."""

    def reset_owner(self, token_hash: str, now: float) -> str | None:
        """Whose reset token this is, if it is still usable; spends nothing."""

    def use_reset(self, token_hash: str, user_id: str, now: float) -> bool:
        """Spend a reset token once, if it is unused, unexpired and still its account's latest."""
