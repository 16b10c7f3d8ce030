"""Forged and broken bearer tokens: each is refused with a 401 problem on the profile.

Tokens that need a valid signature over bad claims are signed with the stack's real active key
(read from the moto secret), so the one wrong thing in each is the claim under test.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.e2e.identity import (
    PROFILE,
    Accounts,
    Api,
    assert_problem,
    b64url,
    b64url_json,
    bearer,
    new_rsa_key,
    unverified_claims,
)


@dataclass
class Forge:
    """A real user's token and claims, and the real key to sign variations of them with."""

    kid: str
    key: Any
    token: str
    refresh: str
    claims: dict[str, Any]
    other_user_id: str

    def fresh_claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {**self.claims, "iat": now, "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex, **changes}
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def signed(self, **changes: Any) -> str:
        """A token signed with the real key; a change of None drops that claim."""
        return self.sign(self.fresh_claims(**changes))

    def public_pem(self, format: serialization.PublicFormat) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.PEM, format)


@pytest.fixture(scope="module")
def forge(stack, signing_key) -> Forge:
    with Api(stack.endpoints["api"]) as api:
        accounts = Accounts(api)
        user = accounts.logged_in("forged")
        other = accounts.register("bystander")
    kid, key = signing_key
    assert jwt.get_unverified_header(user.tokens["access"])["kid"] == kid
    return Forge(
        kid, key, user.tokens["access"], user.tokens["refresh"], unverified_claims(user.tokens["access"]), other.id
    )


def unsigned(forge: Forge) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": forge.kid}
    return f"{b64url_json(header)}.{b64url_json(forge.fresh_claims())}."


def hs256_with_public_key(format: serialization.PublicFormat) -> Callable[[Forge], str]:
    """The algorithm-confusion attack: HMAC keyed with the public key PEM (PyJWT refuses to make one)."""

    def build(forge: Forge) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": forge.kid}
        signing_input = f"{b64url_json(header)}.{b64url_json(forge.fresh_claims())}"
        signature = hmac.new(forge.public_pem(format), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"

    return build


def tampered(**changes: Any) -> Callable[[Forge], str]:
    """The real token with its payload edited and the original signature kept."""

    def build(forge: Forge) -> str:
        header, _, signature = forge.token.split(".")
        resolved = {name: value(forge) if callable(value) else value for name, value in changes.items()}
        return f"{header}.{b64url_json({**forge.claims, **resolved})}.{signature}"

    return build


TOKENS: dict[str, Callable[[Forge], str]] = {
    "alg-none": unsigned,
    "alg-none-without-signature-dot": lambda f: unsigned(f).rstrip("."),
    "hs256-with-the-public-key-pem": hs256_with_public_key(serialization.PublicFormat.SubjectPublicKeyInfo),
    "hs256-with-the-pkcs1-public-key": hs256_with_public_key(serialization.PublicFormat.PKCS1),
    "expired": lambda f: f.signed(iat=int(time.time()) - 600, nbf=int(time.time()) - 600, exp=int(time.time()) - 60),
    "nbf-in-the-future": lambda f: f.signed(nbf=int(time.time()) + 120),
    "iat-and-nbf-missing": lambda f: f.signed(iat=None, nbf=None),
    "exp-missing": lambda f: f.signed(exp=None),
    "wrong-issuer": lambda f: f.signed(iss="https://evil.example"),
    "issuer-missing": lambda f: f.signed(iss=None),
    "wrong-audience": lambda f: f.signed(aud="someone-else"),
    "unknown-kid-fresh-key": lambda f: f.sign(f.fresh_claims(), key=new_rsa_key(), kid=uuid.uuid4().hex),
    "real-kid-other-key": lambda f: f.sign(f.fresh_claims(), key=new_rsa_key()),
    "tampered-sub": tampered(sub=lambda f: f.other_user_id),
    "tampered-roles": tampered(roles=["user", "admin"]),
    "garbage": lambda f: "this-is-not-a-token",
    "three-garbage-segments": lambda f: "abc.def.ghi",
    "refresh-token": lambda f: f.refresh,
    "token-use-missing": lambda f: f.signed(token_use=None),
    "token-use-refresh": lambda f: f.signed(token_use="refresh"),
    "unknown-subject": lambda f: f.signed(sub=uuid.uuid4().hex),
}


@pytest.mark.parametrize("build", TOKENS.values(), ids=TOKENS.keys())
def test_a_forged_or_broken_bearer_token_is_refused(api, forge, build):
    response = api.get(PROFILE, headers=bearer(build(forge)))
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-authorization"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, id="basic"),
        pytest.param({"Authorization": "Bearer"}, id="bearer-without-token"),
        pytest.param({"Authorization": "Bearer    "}, id="bearer-blank"),
        pytest.param({"Authorization": "Token abc"}, id="other-scheme"),
    ],
)
def test_a_request_without_a_usable_credential_is_refused(api, headers):
    assert_problem(api.get(PROFILE, headers=headers), 401)


def test_a_token_signed_with_the_real_key_and_right_claims_is_accepted(api, forge):
    """The positive control: the forgeries above fail for their one wrong claim, not for how they are made."""
    response = api.get(PROFILE, headers=bearer(forge.signed()))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == forge.claims["sub"]
    assert api.get(PROFILE, headers=bearer(forge.token)).json()["id"] == forge.claims["sub"]


def test_the_jwks_publishes_the_active_public_key(api, forge):
    response = api.get("/.well-known/jwks.json")
    assert response.status_code == 200
    [jwk] = [key for key in response.json()["keys"] if key["kid"] == forge.kid]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in jwk and "p" not in jwk
    published = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    assert published.public_numbers() == forge.key.public_key().public_numbers()
