"""Identity end to end, against a local cloud of this folder's own (see conftest.py).

The helpers here are shared by the tests of this folder: accounts registered over HTTP, a
small OIDC provider of our own, and JWT building blocks for forging tokens by hand.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PROBLEM = "application/problem+json"
LOGIN_THROTTLE_LIMIT = 3
OIDC_ISSUER = "https://issuer.test"
OIDC_AUDIENCE = "client-123"
EVENTS_QUEUE = "sp-local-events"
KEYS_SECRET = "sp-local-jwt-signing-keys"
PROFILE = "/api/v1/users/profile"
LOGIN = "/api/v1/auth/token"


class Api(requests.Session):
    """A session on the stack's API that opens a new connection for every request.

    On a kept-alive connection each response of the dev server waits out a delayed ACK (~40 ms a
    request). Asking for `Connection: close` alone is not enough: the server closes without saying
    so, and a request sent on the pooled socket before its FIN arrives fails with RemoteDisconnected.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers["Connection"] = "close"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        try:
            return super().request(method, self.base_url + url, *args, **kwargs)
        finally:
            # Drop the pooled connection (the response is read already).
            self.close()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 7807 problem with this status; its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/") and body["title"] and body["detail"]
    return body


def error_paths(response: Any) -> set[str]:
    return {error["path"] for error in assert_problem(response, 400)["errors"]}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def strong_password() -> str:
    return f"Quartz-{secrets.token_hex(5)}-Meadow"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- accounts ---------------------------------------------------------------------------------


@dataclass
class Account:
    id: str
    username: str
    email: str
    password: str
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        """An Authorization header with the account's latest access token."""
        return bearer(self.tokens["access"])


class Accounts:
    """Registers and logs in users through the public API."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def register(self, prefix: str = "user", **fields: str) -> Account:
        username = fields.pop("username", None) or unique(prefix)
        email = fields.pop("email", None) or f"{username.lower()}@example.com"
        password = fields.pop("password", None) or strong_password()
        body = {"username": username, "email": email, "password": password, "password2": password, **fields}
        response = self.api.post("/api/v1/users/register", json=body)
        assert response.status_code == 201, response.text
        return Account(response.json()["id"], username, email, password)

    def login(self, account: Account, password: str | None = None, path: str = LOGIN) -> dict[str, Any]:
        response = self.api.post(path, json={"username": account.username, "password": password or account.password})
        assert response.status_code == 200, response.text
        account.tokens = response.json()
        return account.tokens

    def logged_in(self, prefix: str = "user", **fields: str) -> Account:
        account = self.register(prefix, **fields)
        self.login(account)
        return account


# -- the outbox ---------------------------------------------------------------------------------

RESET_LINK = re.compile(r"https?://\S+?/api/users/password_reset/\?token=(\S+)")


def mail_to(control_url: str, address: str) -> list[dict[str, Any]]:
    messages = requests.get(f"{control_url}/outbox", timeout=10).json()["messages"]
    return [message for message in messages if address in message["to"]]


def reset_token_from(message: dict[str, Any]) -> tuple[str, str]:
    """(the link's path and query, the raw token) of a password-reset email."""
    match = RESET_LINK.search(message["body"])
    assert match, message["body"]
    link = urlsplit(match.group(0))
    return f"{link.path}?{link.query}", unquote(match.group(1))


# -- JWT building blocks ------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unverified_claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- a small OIDC provider ------------------------------------------------------------------------


class OidcProvider:
    """An identity provider of our own: RSA keys and a JWKS document served on 127.0.0.1."""

    def __init__(self, issuer: str = OIDC_ISSUER, audience: str = OIDC_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.jwks_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                provider.jwks_requests += 1
                body = json.dumps(provider.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        self._thread = threading.Thread(target=self.server.serve_forever, name="oidc-jwks", daemon=True)

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_key(self, publish: bool = True) -> str:
        kid = f"test-{secrets.token_hex(4)}"
        self.keys[kid] = new_rsa_key()
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in list(self.published):
            jwk = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def id_token(self, sub: str | None, *, kid: str | None = None, **claims: Any) -> str:
        """An ID token signed by one of our keys (the first published by default); a claim given as
        None is left out."""
        kid = kid or self.published[0]
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now, "exp": now + 300, **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})
