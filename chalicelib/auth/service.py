"""Identity: registration, login, refresh rotation with reuse detection, profiles, password
change and reset, API keys, and turning a credential into a Principal. Framework-free."""

from __future__ import annotations

import dataclasses
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

from chalicelib.auth import identifiers
from chalicelib.auth.model import ApiKey, IdentityStorage, RefreshToken, User, UserValue
from chalicelib.auth.passwords import Passwords, password_problems
from chalicelib.auth.revocation import Revocations
from chalicelib.auth.throttle import Throttle
from chalicelib.auth.tokens import AccessTokens, ExternalIssuers, unverified_issuer
from chalicelib.errors import Conflict, FieldError, Forbidden, NotFound, Unauthenticated, ValidationFailed
from chalicelib.principal import SCOPES, Principal

API_KEY_PREFIX = "spk"
_API_KEY = re.compile(rf"{API_KEY_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{20,}})")
INVALID_CREDENTIALS = "Invalid username or password"
WRONG_PASSWORD = "The current password is wrong"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def profile_of(user: User) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": list(user.roles),
        "date_joined": _iso(user.created_at),
        # An address waiting for its confirmation link; `email` stays in force until then.
        "pending_email": user.pending_email,
    }


def api_key_view(item: ApiKey) -> dict[str, Any]:
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
    store: IdentityStorage
    passwords: Passwords
    tokens: AccessTokens
    external: ExternalIssuers
    login_throttle: Throttle
    api_key_throttle: Throttle
    # Password-reset requests, per client and per address (counted whether or not it has an account).
    reset_client_throttle: Throttle
    reset_email_throttle: Throttle
    revocations: Revocations
    send_email: Callable[[str, str, str], Any]
    # Hands a password-reset request to the identity-mail queue (chalicelib/auth/handlers.py).
    enqueue_reset: Callable[[str], None]
    refresh_ttl_s: int
    reset_ttl_s: int
    email_change_ttl_s: int
    public_base_url: str
    clock: Callable[[], float] = time.time
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    # -- registration and profiles --------------------------------------------------------

    def register(self, data: dict[str, Any], roles: tuple[str, ...] = ("user",)) -> dict[str, Any]:
        problems = []
        username = email = ""
        try:
            username = identifiers.username(data["username"])
        except ValidationFailed as exc:
            problems += exc.errors
        try:
            email = identifiers.email(data["email"])
        except ValidationFailed as exc:
            problems += exc.errors
        # The confirmation is optional (seed clients send none); when sent, it must match.
        if data.get("password2", data["password"]) != data["password"]:
            problems.append(FieldError("$.password2", "The two passwords do not match"))
        problems += password_problems(
            data["password"],
            username=username or data["username"],
            email=email or data["email"],
            other_attributes=(data.get("first_name", ""), data.get("last_name", "")),
        )
        if problems:
            raise ValidationFailed(problems)
        now = self.clock()
        user_id = self.new_id()
        user = User(
            user_id=user_id,
            username=username,
            email=email,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            password_hash=self.passwords.hash(data["password"]),
            roles=tuple(roles),
            created_at=now,
            updated_at=now,
        )
        self.store.create_user(
            user, [("username", identifiers.username_key(username)), ("email", identifiers.email_key(email))]
        )
        return profile_of(user)

    def ensure_admin(self, username: str, email: str, password: str) -> dict[str, Any]:
        """Create an administrator, or give an existing account of that name the admin role."""
        user = self.store.user_by_claim("username", identifiers.username_key(username))
        if user is None:
            data = {"username": username, "email": email, "password": password, "password2": password}
            return self.register(data, roles=("user", "admin"))
        if "admin" not in user.roles:
            user = self.store.set_user(user.user_id, {"roles": (*user.roles, "admin")})
        return profile_of(user)

    def _user(self, principal: Principal) -> User:
        user = self.store.user(principal.user_id)
        if user is None:
            raise Unauthenticated("The account no longer exists")
        return user

    def profile(self, principal: Principal) -> dict[str, Any]:
        return profile_of(self._user(principal))

    def email_of(self, user_id: str) -> str | None:
        """The account's email (None: no such account), for the contexts that mail its owner."""
        user = self.store.user(user_id)
        return user.email if user is not None else None

    def update_profile(self, principal: Principal, changes: dict[str, Any]) -> dict[str, Any]:
        """Names change at once. A new email needs the current password and is only pending
        until the link mailed to it is opened; API keys can never change it."""
        user = self._user(principal)
        new_email = identifiers.email(changes["email"]) if "email" in changes else None
        if new_email is not None and identifiers.email_key(new_email) != identifiers.email_key(user.email):
            user = self._start_email_change(principal, user, new_email, changes.get("current_password"))
        names: dict[str, UserValue] = {name: changes[name] for name in ("first_name", "last_name") if name in changes}
        if names:
            user = self.store.set_user(user.user_id, names)
        return profile_of(user)

    def _require_password(self, user: User, password: str | None, path: str) -> None:
        if not user.password_hash:
            raise Conflict("This account signs in with an external identity provider and has no password")
        if not password:
            raise ValidationFailed([FieldError(path, "The current password is required for this change")])
        if not self.passwords.verify(user.password_hash, password):
            raise ValidationFailed([FieldError(path, WRONG_PASSWORD)])

    def _start_email_change(self, principal: Principal, user: User, new_email: str, password: str | None) -> User:
        if principal.via == "api_key":
            raise Forbidden("API keys cannot change the account's email, whatever their scopes")
        self._require_password(user, password, "$.current_password")
        if self.store.user_by_claim("email", identifiers.email_key(new_email)) is not None:
            raise Conflict("That email is already taken")
        secret = secrets.token_urlsafe(32)
        token = f"{user.user_id}.{secret}"
        pending = self.store.set_user(
            user.user_id,
            {
                "pending_email": new_email,
                "pending_email_hash": _sha256(token),
                "pending_email_expires_at": int(self.clock() + self.email_change_ttl_s),
            },
        )
        link = f"{self.public_base_url}/api/v1/users/email/confirm?token={quote(token)}"
        hours = max(1, self.email_change_ttl_s // 3600)
        self.send_email(
            new_email,
            "Confirm your new email address",
            f"Hello {user.username},\n\nTo make {new_email} your account's address, open this link within "
            f"{hours} hour(s):\n\n{link}\n\nUntil then your account keeps {user.email}. If you did not ask for "
            "this, ignore this email.\n",
        )
        self.send_email(
            user.email,
            "Your email address is being changed",
            f"Hello {user.username},\n\nSomeone signed in to your account asked to change its email address to "
            f"{new_email}. It changes only when the link sent there is opened.\n\nIf this was not you, change "
            "your password now: that also signs every session out.\n",
        )
        return pending

    def confirm_email_change(self, token: str) -> dict[str, Any]:
        invalid = ValidationFailed([FieldError("$.token", "The confirmation link is invalid, replaced or expired")])
        user_id, _, secret = token.partition(".")
        user = self.store.user(user_id) if user_id and secret and len(token) <= 256 else None
        if (
            user is None
            or not user.pending_email
            or not hmac.compare_digest(user.pending_email_hash or "", _sha256(token))
            or (user.pending_email_expires_at or 0) <= self.clock()
        ):
            raise invalid
        new_email = user.pending_email
        if not self.store.confirm_email_change(
            user, _sha256(token), identifiers.email_key(user.email), identifiers.email_key(new_email)
        ):
            raise invalid
        confirmed = self.store.user(user_id)
        if confirmed is None:
            raise invalid
        return profile_of(confirmed)

    # -- login, refresh, logout -----------------------------------------------------------

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return self.passwords.hash(secrets.token_urlsafe(16))

    def _find_login(self, identifier: str) -> tuple[User | None, str]:
        """The account a login names (an @ means an email, never a username) and the throttle's
        name for it."""
        claim = identifiers.login_claim(identifier)
        user = self.store.user_by_claim(*claim) if claim else None
        return user, (user.user_id if user else ":".join(claim or ("invalid", identifier)))

    def login(self, identifier: str, password: str, client: str) -> dict[str, Any]:
        user, account = self._find_login(identifier)
        # Counted per account, however it is named (username or email), from this client.
        throttle_key = f"{client}|{account}"
        self.login_throttle.check(throttle_key)
        if user is None or not user.password_hash or not self.passwords.verify(user.password_hash, password):
            if user is None or not user.password_hash:
                # Hash anyway, so an unknown username costs what a wrong password costs.
                self.passwords.verify(self._dummy_hash, password)
            self._login_failed(throttle_key, user, client)
            raise Unauthenticated(INVALID_CREDENTIALS)
        self.login_throttle.succeeded(throttle_key)
        if self.passwords.needs_rehash(user.password_hash):
            # Conditioned on the hash we checked: a rehash never undoes a concurrent change.
            self.store.rehash_password(user.user_id, user.password_hash, self.passwords.hash(password))
        family_id = uuid.uuid4().hex
        self.store.create_family(family_id, user.user_id, self.clock() + self.refresh_ttl_s)
        return self._token_pair(user, family_id)

    def _login_failed(self, throttle_key: str, user: User | None, client: str) -> None:
        count = self.login_throttle.failed(throttle_key)
        if user is not None and count == self.login_throttle.limit:
            # The burst that closes the account to this client: once per window, into the audit trail.
            self.store.record_security_event(
                self.new_id(),
                "user.login_throttled",
                {"user_id": user.user_id, "client": client, "failures": count},
                self.clock(),
            )

    def _token_pair(self, user: User, family_id: str) -> dict[str, Any]:
        now = self.clock()
        token_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        self.store.create_refresh(
            RefreshToken(
                token_id=token_id,
                family_id=family_id,
                user_id=user.user_id,
                secret_hash=_sha256(secret),
                issued_at=now,
                expires_at=int(now + self.refresh_ttl_s),
            )
        )
        access = self.tokens.issue(
            user.user_id, user.username, list(user.roles), family_id, generation=user.token_generation
        )
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
        if item.status != "active" or not self.store.spend_refresh(token_id):
            # A spent token presented again means two holders: end the whole session.
            self.store.revoke_family(item.family_id)
            raise Unauthenticated("The refresh token was already used; the session is revoked")
        return self._token_pair(user, item.family_id)

    def logout(self, principal: Principal) -> None:
        """End the caller's session: its refresh tokens and, at once, its access tokens."""
        if principal.session_id:
            self.store.revoke_family(principal.session_id)
            self.revocations.session_ended(principal.session_id)

    # -- passwords ------------------------------------------------------------------------

    @staticmethod
    def _check_new_password(user: User, password: str) -> None:
        problems = password_problems(
            password, username=user.username, email=user.email, other_attributes=(user.first_name, user.last_name)
        )
        if problems:
            raise ValidationFailed(
                [FieldError(p.path.replace("$.password", "$.new_password"), p.message) for p in problems]
            )

    def _set_password(self, user: User, password: str, via: str) -> None:
        self._check_new_password(user, password)
        # One write: the new hash, every refresh token issued until now void, the token
        # generation moved on (every access token issued until now void), reset links dead.
        now = self.clock()
        changed = self.store.set_password(user.user_id, self.passwords.hash(password), via, now)
        self.revocations.generation_changed(user.user_id, changed.token_generation)

    def change_password(self, principal: Principal, data: dict[str, Any]) -> None:
        user = self._user(principal)
        self._require_password(user, data["old_password"], "$.old_password")
        if data.get("new_password2", data["new_password"]) != data["new_password"]:
            raise ValidationFailed([FieldError("$.new_password2", "The two passwords do not match")])
        self._set_password(user, data["new_password"], via="change")

    def request_password_reset(self, email: str, client: str) -> None:
        """Throttled per client and per address, then handed to the queue: the answer costs the
        same whether or not the address has an account, and tells nothing about it."""
        key = identifiers.email_key(identifiers.email(email))
        self.reset_client_throttle.check(client)
        self.reset_email_throttle.check(key)
        self.reset_client_throttle.failed(client)
        self.reset_email_throttle.failed(key)
        self.enqueue_reset(key)

    def send_password_reset(self, email_key: str) -> bool:
        """The queue's side of a reset request: mail a single-use link if the address belongs to
        an account (the newest link voids the older ones). False when there is no such account."""
        user = self.store.user_by_claim("email", email_key)
        if user is None:
            return False
        token = secrets.token_urlsafe(32)
        self.store.create_reset(_sha256(token), user.user_id, self.clock() + self.reset_ttl_s)
        link = f"{self.public_base_url}/api/users/password_reset/?token={quote(token)}"
        minutes = self.reset_ttl_s // 60
        self.send_email(
            user.email,
            "Reset your password",
            f"Hello {user.username},\n\nTo choose a new password, open this link within {minutes} minutes:\n\n"
            f"{link}\n\nIt works once, and only until a newer link is sent. Setting a new password this way signs "
            "every session out and deletes the account's API keys. If you did not ask for this, ignore this email.\n",
        )
        return True

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        invalid = ValidationFailed([FieldError("$.token", "The reset link is invalid, used or expired")])
        token_hash = _sha256(token)
        owner = self.store.reset_owner(token_hash, self.clock())
        user = self.store.user(owner) if owner else None
        if user is None or not hmac.compare_digest(user.reset_token_hash or "", token_hash):
            raise invalid
        # A refused password must not burn the link: check it before spending the token.
        self._check_new_password(user, new_password)
        if not self.store.use_reset(token_hash, user.user_id, self.clock()):
            raise invalid
        self._set_password(user, new_password, via="reset")
        # A reset is the way back into an account someone else may hold: keys they minted go too.
        self.store.delete_api_keys_of(user.user_id)

    # -- API keys -------------------------------------------------------------------------

    def _new_secret(self, key_id: str) -> tuple[str, str, str]:
        secret = secrets.token_urlsafe(32)
        raw = f"{API_KEY_PREFIX}_{key_id}_{secret}"
        return raw, raw[: len(API_KEY_PREFIX) + 1 + 8], _sha256(raw)

    def create_api_key(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        # Absent: every scope. Present: exactly those listed (the schema refuses an empty list).
        scopes = sorted(set(data.get("scopes", SCOPES)))
        if not scopes:
            raise ValidationFailed([FieldError("$.scopes", "List at least one scope, or leave scopes out")])
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise ValidationFailed([FieldError("$.scopes", f"Unknown scope(s): {', '.join(unknown)}")])
        now = self.clock()
        key_id = secrets.token_hex(8)
        raw, prefix, secret_hash = self._new_secret(key_id)
        expires_in_days = data.get("expires_in_days")
        item = ApiKey(
            key_id=key_id,
            user_id=principal.user_id,
            name=data["name"],
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=tuple(scopes),
            created_at=now,
            expires_at=int(now + expires_in_days * 86400) if expires_in_days else None,
        )
        self.store.create_api_key(item)
        return {**api_key_view(item), "key": raw}

    def api_keys(self, principal: Principal) -> list[dict[str, Any]]:
        return [api_key_view(item) for item in self.store.api_keys_of(principal.user_id)]

    def _own_key(self, principal: Principal, key_id: str) -> ApiKey:
        item = self.store.api_key(key_id)
        # Someone else's key is indistinguishable from a missing one.
        if item is None or item.user_id != principal.user_id:
            raise NotFound("No such API key")
        return item

    def regenerate_api_key(self, principal: Principal, key_id: str) -> dict[str, Any]:
        item = self._own_key(principal, key_id)
        raw, prefix, secret_hash = self._new_secret(key_id)
        self.store.replace_api_key_secret(key_id, prefix, secret_hash)
        return {**api_key_view(dataclasses.replace(item, prefix=prefix, secret_hash=secret_hash)), "key": raw}

    def delete_api_key(self, principal: Principal, key_id: str) -> None:
        self.store.delete_api_key(self._own_key(principal, key_id).key_id)

    def delete_all_api_keys(self, principal: Principal) -> int:
        return self.store.delete_api_keys_of(principal.user_id)

    # -- who is calling -------------------------------------------------------------------

    def authenticate_api_key(self, raw: str, client: str) -> Principal:
        """A valid key always works, throttled client or not: the throttle only turns a
        client's further bad keys into 429s. Guessing cannot profit from that, because a key's
        secret is 256 random bits; what the throttle saves is the work of refusing a flood."""
        match = _API_KEY.fullmatch(raw)
        item = self.store.api_key(match.group(1)) if match else None
        now = self.clock()
        if (
            item is None
            or not hmac.compare_digest(item.secret_hash, _sha256(raw))
            or (item.expires_at is not None and item.expires_at <= now)
        ):
            self.api_key_throttle.check(client)
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
            self.revocations.check(claims["sub"], claims.get("sid"), int(claims.get("gen", 0)))
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

    def _external_user(self, issuer: str, claims: dict[str, Any]) -> User:
        """The account of an external identity, created on its first valid token."""
        identity = f"{issuer} {claims['sub']}"
        user = self.store.user_by_claim("oidc", identity)
        if user is not None:
            return user
        now = self.clock()
        user_id = uuid.uuid4().hex
        email = claims.get("email") or f"{user_id}@users.noreply"
        user = User(
            user_id=user_id,
            # Unique and stable: external accounts never log in by username.
            username=f"oidc-{_sha256(identity)[:16]}",
            email=email,
            first_name=claims.get("given_name", ""),
            last_name=claims.get("family_name", ""),
            password_hash=None,
            roles=("user",),
            created_at=now,
            updated_at=now,
            external_identity=identity,
        )
        claims_to_take = [("oidc", identity), ("username", identifiers.username_key(user.username))]
        email_key = identifiers.email_key(email)
        if claims.get("email") and claims.get("email_verified") and not self.store.user_by_claim("email", email_key):
            claims_to_take.append(("email", email_key))
        try:
            self.store.create_user(user, claims_to_take)
        except Conflict:
            # Two first requests raced; the other one created the account.
            existing = self.store.user_by_claim("oidc", identity)
            if existing is None:
                raise
            return existing
        return user
