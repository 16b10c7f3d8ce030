"""Access tokens (RS256 JWTs we issue) and ID tokens from external OIDC issuers.

Verification fails closed: only RS256 is accepted (so `alg: none` and HS256-signed-with-the-
public-key are refused by construction), every time claim is required and checked, the
issuer and audience must match, and an unknown `kid` is refused after one key-ring reload.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from chalicelib.auth.keys import KeyRingSource
from chalicelib.config import OidcIssuer
from chalicelib.errors import Unauthenticated

ALGORITHMS = ["RS256"]
LEEWAY_S = 5
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
REFETCH_COOLDOWN_S = 1.0


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def unverified_issuer(token: str) -> str:
    """Which issuer a bearer token claims to come from, to pick the key that must verify it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated("The bearer token is not a JWT") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise Unauthenticated("The bearer token names no issuer")
    return issuer


class VerifiedTokens:
    """Claims of tokens that already passed verification, so a client reusing its token pays
    for the RSA check and decoding once, not on every request. A hit still checks the time
    claims; only tokens that verified are ever stored."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            claims = self._claims.get(token)
            if claims is None:
                return None
            if not claims["nbf"] - LEEWAY_S <= now < claims["exp"] + LEEWAY_S:
                del self._claims[token]
                return None
            self._claims.move_to_end(token)
            return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        with self._lock:
            self._claims[token] = claims
            if len(self._claims) > self.capacity:
                self._claims.popitem(last=False)


class AccessTokens:
    def __init__(
        self,
        keys: KeyRingSource,
        issuer: str,
        audience: str,
        ttl_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self.clock = clock
        self.verified = VerifiedTokens()

    def issue(self, user_id: str, username: str, roles: list[str], session_id: str, generation: int = 0) -> IssuedToken:
        now = int(self.clock())
        key = self.keys.get().active
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "preferred_username": username,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": uuid.uuid4().hex,
            "roles": roles,
            "sid": session_id,
            # The account's token generation: a password change or reset moves it on and
            # voids every token of an older one (chalicelib/auth/revocation.py).
            "gen": generation,
            "token_use": "access",
        }
        token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
        return IssuedToken(token, self.ttl_s)

    def verify(self, token: str) -> dict[str, Any]:
        cached = self.verified.get(token, self.clock())
        if cached is not None:
            return cached
        claims = self._verify(token)
        self.verified.put(token, claims)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is malformed") from None
        ring = self.keys.get()
        if kid not in ring.keys:
            # A key added by rotation since our last load; one reload, then refuse.
            ring = self.keys.get(force=True)
            if kid not in ring.keys:
                raise Unauthenticated("The bearer token is signed with an unknown key")
        try:
            claims = jwt.decode(
                token,
                ring.keys[kid].public_key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The bearer token is invalid: {_reason(exc)}") from None
        if claims.get("token_use") != "access":
            raise Unauthenticated("The bearer token is not an access token")
        return claims

    def jwks(self) -> dict[str, Any]:
        return self.keys.get().jwks()


class ExternalIssuers:
    """ID tokens from configured OIDC providers, verified against their published JWKS."""

    def __init__(self, issuers: tuple[OidcIssuer, ...]) -> None:
        self.issuers = {issuer.issuer: issuer for issuer in issuers}
        # PyJWKClient caches the key set and refetches it when it meets an unknown kid, at most
        # once a second, so tokens with made-up kids cannot make us hammer the provider.
        self._clients = {
            issuer.issuer: jwt.PyJWKClient(issuer.jwks_url, lifespan=3600, cooldown_duration=REFETCH_COOLDOWN_S)
            for issuer in issuers
        }

    def trusts(self, issuer: str) -> bool:
        return issuer in self.issuers

    def verify(self, token: str, issuer: str) -> dict[str, Any]:
        config = self.issuers[issuer]
        try:
            signing_key = self._clients[issuer].get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                signing_key.key,
                algorithms=ALGORITHMS,
                audience=config.audience,
                issuer=config.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated(f"The keys of {issuer} could not be fetched") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The ID token is invalid: {_reason(exc)}") from None


def _reason(exc: jwt.PyJWTError) -> str:
    reasons = {
        jwt.ExpiredSignatureError: "it has expired",
        jwt.ImmatureSignatureError: "it is not valid yet",
        jwt.InvalidIssuerError: "wrong issuer",
        jwt.InvalidAudienceError: "wrong audience",
        jwt.InvalidSignatureError: "bad signature",
        jwt.MissingRequiredClaimError: "a required claim is missing",
        jwt.InvalidAlgorithmError: "algorithm not allowed",
    }
    for cls, reason in reasons.items():
        if isinstance(exc, cls):
            return reason
    return "it cannot be decoded"
