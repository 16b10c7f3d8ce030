"""Identity: registration, login, refresh rotation with reuse detection, profiles, password
change and reset, API keys, and turning a credential into a Principal. Framework-free."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalicelib.auth.passwords import Passwords, password_problems
from chalicelib.auth.principal import SCOPES, Principal
from chalicelib.auth.store import ApiKeyItem, IdentityStore, RefreshItem, UserItem
from chalicelib.auth.throttle import Throttle
from chalicelib.auth.tokens import AccessTokens, ExternalIssuers, unverified_issuer
from chalicelib.errors import Conflict, FieldError, NotFound, Unauthenticated, ValidationFailed

API_KEY_PREFIX = "spk"
_API_KEY = re.compile(rf"^{API_KEY_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{20,}})$")
INVALID_CREDENTIALS = "Invalid username or password"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def profile_of(user: UserItem) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": list(user.roles),
        "date_joined": _iso(user.created_at),
    }


def api_key_view(item: ApiKeyItem) -> dict[str, Any]:
    return {
        "id": item.key_id,
        "name": item.name,
        "prefix": item.prefix,
        "scopes": list(item.scopes),
        "created_at": _iso(item.created_at),
        "last_used_at": _iso(item.last_used_at),
        "expires_at": _iso(item.expires_at),
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class IdentityService:
    store: IdentityStore
    passwords: Passwords
    tokens: AccessTokens
    external: ExternalIssuers
    login_throttle: Throttle
    api_key_throttle: Throttle
    send_email: Callable[[str, str, str], Any]
    refresh_ttl_s: int
    reset_ttl_s: int
    public_base_url: str
    clock: Callable[[], float] = time.time

    # -- registration and profiles --------------------------------------------------------

    def register(self, data: dict[str, Any], roles: tuple[str, ...] = ("user",)) -> dict[str, Any]:
        problems = []
        if data.get("password2", data["password"]) != data["password"]:
            problems.append(FieldError("$.password2", "The two passwords do not match"))
        problems += password_problems(
            data["password"],
            username=data["username"],
            email=data["email"],
            other_attributes=(data.get("first_name", ""), data.get("last_name", "")),
        )
        if problems:
            raise ValidationFailed(problems)
        now = self.clock()
        user = UserItem(
            *UserItem.key(uuid.uuid4().hex),
            user_id="",
            username=data["username"],
            email=data["email"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            password_hash=self.passwords.hash(data["password"]),
            roles=list(roles),
            created_at=now,
            updated_at=now,
        )
        user.user_id = user.pk.split("#", 1)[1]
        self.store.create_user(user, [("username", user.username.lower()), ("email", user.email.lower())])
        return profile_of(user)

    def ensure_admin(self, username: str, email: str, password: str) -> dict[str, Any]:
        """Create an administrator, or give an existing account of that name the admin role."""
        user = self.store.user_by_claim("username", username.lower())
        if user is None:
            data = {"username": username, "email": email, "password": password, "password2": password}
            return self.register(data, roles=("user", "admin"))
        if "admin" not in user.roles:
            user.roles = [*user.roles, "admin"]
            self.store.save_user(user)
        return profile_of(user)

    def _user(self, principal: Principal) -> UserItem:
        user = self.store.user(principal.user_id)
        if user is None:
            raise Unauthenticated("The account no longer exists")
        return user

    def profile(self, principal: Principal) -> dict[str, Any]:
        return profile_of(self._user(principal))

    def update_profile(self, principal: Principal, changes: dict[str, Any]) -> dict[str, Any]:
        user = self._user(principal)
        new_email = changes.get("email")
        if new_email and new_email.lower() != user.email.lower():
            self.store.change_claim(user.user_id, "email", user.email.lower(), new_email.lower())
        for field in ("email", "first_name", "last_name"):
            if field in changes:
                setattr(user, field, changes[field])
        self.store.save_user(user)
        return profile_of(user)

    # -- login, refresh, logout -----------------------------------------------------------

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return self.passwords.hash(secrets.token_urlsafe(16))

    def _find_login(self, identifier: str) -> UserItem | None:
        # Usernames may contain "@" too: a username match wins, then an email match.
        user = self.store.user_by_claim("username", identifier.lower())
        if user is None and "@" in identifier:
            user = self.store.user_by_claim("email", identifier.lower())
        return user

    def login(self, identifier: str, password: str, client: str) -> dict[str, Any]:
        user = self._find_login(identifier)
        # Counted per account, however it is named (username or email), from this client.
        throttle_key = f"{client}|{user.user_id if user else identifier.lower()}"
        self.login_throttle.check(throttle_key)
        if user is None or not user.password_hash:
            # Hash anyway, so an unknown username costs what a wrong password costs.
            self.passwords.verify(self._dummy_hash, password)
            self.login_throttle.failed(throttle_key)
            raise Unauthenticated(INVALID_CREDENTIALS)
        if not self.passwords.verify(user.password_hash, password):
            self.login_throttle.failed(throttle_key)
            raise Unauthenticated(INVALID_CREDENTIALS)
        self.login_throttle.succeeded(throttle_key)
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(password)
            self.store.save_user(user)
        family_id = uuid.uuid4().hex
        self.store.create_family(family_id, user.user_id, self.clock() + self.refresh_ttl_s)
        return self._token_pair(user, family_id)

    def _token_pair(self, user: UserItem, family_id: str) -> dict[str, Any]:
        now = self.clock()
        token_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        self.store.create_refresh(
            RefreshItem(
                *RefreshItem.key(token_id),
                family_id=family_id,
                user_id=user.user_id,
                secret_hash=_sha256(secret),
                issued_at=now,
                expires_at=int(now + self.refresh_ttl_s),
            )
        )
        access = self.tokens.issue(user.user_id, user.username, list(user.roles), family_id)
        return {
            "access": access.token,
            "refresh": f"{token_id}.{secret}",
            "token_type": "Bearer",
            "expires_in": access.expires_in,
        }

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        token_id, _, secret = refresh_token.partition(".")
        item = self.store.refresh_token(token_id) if token_id and secret else None
        if item is None or not hmac.compare_digest(item.secret_hash, _sha256(secret)):
            raise Unauthenticated("The refresh token is not valid")
        family = self.store.family(item.family_id)
        if family is None or family.revoked:
            raise Unauthenticated("The session was revoked; log in again")
        if item.expires_at <= self.clock():
            raise Unauthenticated("The refresh token has expired")
        user = self.store.user(item.user_id)
        if user is None or item.issued_at < user.tokens_valid_after:
            raise Unauthenticated("The refresh token was revoked; log in again")
        if item.status != "active" or not self.store.spend_refresh(item):
            # A spent token presented again means two holders: end the whole session.
            self.store.revoke_family(item.family_id)
            raise Unauthenticated("The refresh token was already used; the session is revoked")
        return self._token_pair(user, item.family_id)

    def logout(self, principal: Principal) -> None:
        if principal.session_id:
            self.store.revoke_family(principal.session_id)

    # -- passwords ------------------------------------------------------------------------

    @staticmethod
    def _check_new_password(user: UserItem, password: str) -> None:
        problems = password_problems(
            password, username=user.username, email=user.email, other_attributes=(user.first_name, user.last_name)
        )
        if problems:
            raise ValidationFailed(
                [FieldError(p.path.replace("$.password", "$.new_password"), p.message) for p in problems]
            )

    def _set_password(self, user: UserItem, password: str) -> None:
        self._check_new_password(user, password)
        user.password_hash = self.passwords.hash(password)
        # Every refresh token issued until now stops working.
        user.tokens_valid_after = self.clock()
        self.store.save_user(user)

    def change_password(self, principal: Principal, data: dict[str, Any]) -> None:
        user = self._user(principal)
        if not user.password_hash or not self.passwords.verify(user.password_hash, data["old_password"]):
            raise ValidationFailed([FieldError("$.old_password", "The current password is wrong")])
        if data.get("new_password2", data["new_password"]) != data["new_password"]:
            raise ValidationFailed([FieldError("$.new_password2", "The two passwords do not match")])
        self._set_password(user, data["new_password"])

    def request_password_reset(self, email: str) -> None:
        """Mail a single-use link if the address belongs to an account; silent otherwise, so
        the answer never tells whether an account exists."""
        user = self.store.user_by_claim("email", email.lower())
        if user is None:
            return
        token = secrets.token_urlsafe(32)
        self.store.create_reset(_sha256(token), user.user_id, self.clock() + self.reset_ttl_s)
        link = f"{self.public_base_url}/api/users/password_reset/?token={quote(token)}"
        minutes = self.reset_ttl_s // 60
        self.send_email(
            user.email,
            "Reset your password",
            f"Hello {user.username},\n\nTo choose a new password, open this link within {minutes} minutes:\n\n"
            f"{link}\n\nIt works once. If you did not ask for this, ignore this email.\n",
        )

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        invalid = ValidationFailed([FieldError("$.token", "The reset link is invalid, used or expired")])
        token_hash = _sha256(token)
        owner = self.store.reset_owner(token_hash, self.clock())
        user = self.store.user(owner) if owner else None
        if user is None:
            raise invalid
        # A refused password must not burn the link: check it before spending the token.
        self._check_new_password(user, new_password)
        if self.store.use_reset(token_hash, self.clock()) != user.user_id:
            raise invalid
        self._set_password(user, new_password)

    # -- API keys -------------------------------------------------------------------------

    def _new_secret(self, key_id: str) -> tuple[str, str, str]:
        secret = secrets.token_urlsafe(32)
        raw = f"{API_KEY_PREFIX}_{key_id}_{secret}"
        return raw, raw[: len(API_KEY_PREFIX) + 1 + 8], _sha256(raw)

    def create_api_key(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        scopes = sorted(set(data.get("scopes") or SCOPES))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise ValidationFailed([FieldError("$.scopes", f"Unknown scope(s): {', '.join(unknown)}")])
        now = self.clock()
        key_id = secrets.token_hex(8)
        raw, prefix, secret_hash = self._new_secret(key_id)
        expires_in_days = data.get("expires_in_days")
        item = ApiKeyItem(
            *ApiKeyItem.key(key_id),
            key_id=key_id,
            user_id=principal.user_id,
            name=data["name"],
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=scopes,
            created_at=now,
            expires_at=int(now + expires_in_days * 86400) if expires_in_days else None,
            gsi1pk=f"USER#{principal.user_id}",
            gsi1sk=f"APIKEY#{now:017.6f}#{key_id}",
        )
        self.store.create_api_key(item)
        return {**api_key_view(item), "key": raw}

    def api_keys(self, principal: Principal) -> list[dict[str, Any]]:
        return [api_key_view(item) for item in self.store.api_keys_of(principal.user_id)]

    def _own_key(self, principal: Principal, key_id: str) -> ApiKeyItem:
        item = self.store.api_key(key_id)
        # Someone else's key is indistinguishable from a missing one.
        if item is None or item.user_id != principal.user_id:
            raise NotFound("No such API key")
        return item

    def regenerate_api_key(self, principal: Principal, key_id: str) -> dict[str, Any]:
        item = self._own_key(principal, key_id)
        raw, prefix, secret_hash = self._new_secret(key_id)
        self.store.replace_api_key_secret(item, prefix, secret_hash)
        item.prefix, item.secret_hash = prefix, secret_hash
        return {**api_key_view(item), "key": raw}

    def delete_api_key(self, principal: Principal, key_id: str) -> None:
        self.store.delete_api_key(self._own_key(principal, key_id))

    # -- who is calling -------------------------------------------------------------------

    def authenticate_api_key(self, raw: str, client: str) -> Principal:
        self.api_key_throttle.check(client)
        match = _API_KEY.match(raw)
        item = self.store.api_key(match.group(1)) if match else None
        now = self.clock()
        if (
            item is None
            or not hmac.compare_digest(item.secret_hash, _sha256(raw))
            or (item.expires_at is not None and item.expires_at <= now)
        ):
            self.api_key_throttle.failed(client)
            raise Unauthenticated("The API key is not valid")
        user = self.store.user(item.user_id)
        if user is None:
            raise Unauthenticated("The API key's owner no longer exists")
        self.store.touch_api_key(item, now)
        return Principal(
            user_id=user.user_id,
            username=user.username,
            roles=tuple(user.roles),
            via="api_key",
            scopes=frozenset(item.scopes),
            api_key_id=item.key_id,
        )

    def authenticate_bearer(self, token: str) -> Principal:
        known = self.tokens.verified.get(token, self.clock())
        issuer = self.tokens.issuer if known is not None else unverified_issuer(token)
        if issuer == self.tokens.issuer:
            # The signed claims are the principal: no read per request. A role change takes
            # effect at the next token (15 minutes at most), the usual bargain of stateless tokens.
            claims = self.tokens.verify(token)
            return Principal(
                user_id=claims["sub"],
                username=claims.get("preferred_username", ""),
                roles=tuple(claims.get("roles") or ()),
                via="jwt",
                session_id=claims.get("sid"),
            )
        if self.external.trusts(issuer):
            claims = self.external.verify(token, issuer)
            user = self._external_user(issuer, claims)
            return Principal(user_id=user.user_id, username=user.username, roles=tuple(user.roles), via="oidc")
        raise Unauthenticated("The bearer token's issuer is not trusted")

    def _external_user(self, issuer: str, claims: dict[str, Any]) -> UserItem:
        """The account of an external identity, created on its first valid token."""
        identity = f"{issuer} {claims['sub']}"
        user = self.store.user_by_claim("oidc", identity)
        if user is not None:
            return user
        now = self.clock()
        user_id = uuid.uuid4().hex
        email = claims.get("email") or f"{user_id}@users.noreply"
        user = UserItem(
            *UserItem.key(user_id),
            user_id=user_id,
            # Unique and stable: external accounts never log in by username.
            username=f"oidc-{_sha256(identity)[:16]}",
            email=email,
            first_name=claims.get("given_name", ""),
            last_name=claims.get("family_name", ""),
            password_hash=None,
            roles=["user"],
            created_at=now,
            updated_at=now,
            external_identity=identity,
        )
        claims_to_take = [("oidc", identity), ("username", user.username.lower())]
        if (
            claims.get("email")
            and claims.get("email_verified")
            and not self.store.user_by_claim("email", email.lower())
        ):
            claims_to_take.append(("email", email.lower()))
        try:
            self.store.create_user(user, claims_to_take)
        except Conflict:
            # Two first requests raced; the other one created the account.
            existing = self.store.user_by_claim("oidc", identity)
            if existing is None:
                raise
            return existing
        return user
