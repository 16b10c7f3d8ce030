"""RS256 signing keys: one active key signs, every listed key verifies and is published.

The key ring lives in Secrets Manager as JSON:

    {"active": "<kid>", "keys": [{"kid": "<kid>", "private_key_pem": "-----BEGIN PRIVATE KEY-----..."}]}

Rotation without logging anyone out: add a new key, make it active, and keep the old one
listed until the last token it signed has expired (the access-token lifetime).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Long enough that a rotation is picked up within minutes, short enough not to hammer the
# secret on every cold container.
RELOAD_AFTER_S = 300
# An unknown kid forces a reload (a rotation we have not seen yet), but at most this often, so
# tokens with made-up kids cannot turn into a stream of Secrets Manager calls.
FORCED_RELOAD_EVERY_S = 1.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self.public_key))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class KeyRing:
    active: SigningKey
    keys: dict[str, SigningKey]

    @classmethod
    def from_secret(cls, secret: str) -> KeyRing:
        document = json.loads(secret)
        keys = {}
        for entry in document["keys"]:
            private_key = serialization.load_pem_private_key(entry["private_key_pem"].encode(), password=None)
            if not isinstance(private_key, rsa.RSAPrivateKey):
                raise ValueError(f"key {entry['kid']} is not an RSA key")
            keys[entry["kid"]] = SigningKey(entry["kid"], private_key)
        return cls(active=keys[document["active"]], keys=keys)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys.values()]}


def new_signing_key() -> dict[str, str]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {"kid": secrets.token_hex(8), "private_key_pem": pem}


def new_keyring_secret() -> str:
    """A first key ring (the bootstrap's generator for the jwt-signing-keys secret)."""
    key = new_signing_key()
    return json.dumps({"active": key["kid"], "keys": [key]})


def rotated_secret(secret: str) -> str:
    """The key ring with a new active key added; older keys stay for verification."""
    document = json.loads(secret)
    key = new_signing_key()
    return json.dumps({"active": key["kid"], "keys": [*document["keys"], key]})


class KeyRingSource:
    """Loads the key ring from Secrets Manager once, and again after RELOAD_AFTER_S."""

    def __init__(self, load_secret: Any) -> None:
        self._load_secret = load_secret
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self, force: bool = False) -> KeyRing:
        with self._lock:
            age = time.monotonic() - self._loaded_at
            if self._ring is None or age > RELOAD_AFTER_S or (force and age > FORCED_RELOAD_EVERY_S):
                self._ring = KeyRing.from_secret(self._load_secret())
                self._loaded_at = time.monotonic()
            return self._ring
