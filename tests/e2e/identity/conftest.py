"""One local cloud for the identity tests, configured for them: cheap argon2, a small login
throttle, and an OIDC issuer of our own whose JWKS is served before the stack starts.

It overrides the shared `stack` and `api` fixtures, so every test here talks to this stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.e2e.conftest import start_test_stack
from tests.e2e.identity import (
    KEYS_SECRET,
    LOGIN_THROTTLE_LIMIT,
    Accounts,
    Api,
    OidcProvider,
    mail_to,
)
from tests.support.stack import Stack


@pytest.fixture(scope="package")
def oidc() -> Iterator[OidcProvider]:
    provider = OidcProvider().start()
    provider.add_key()
    yield provider
    provider.stop()


@pytest.fixture(scope="package")
def stack(oidc: OidcProvider) -> Iterator[Stack]:
    issuers = [{"issuer": oidc.issuer, "audience": oidc.audience, "jwks_url": oidc.jwks_url}]
    stack = start_test_stack(LOGIN_THROTTLE_LIMIT=str(LOGIN_THROTTLE_LIMIT), OIDC_ISSUERS=json.dumps(issuers))
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def aws(stack: Stack) -> Callable[[str], Any]:
    """A boto3 client of the stack's moto server."""

    return stack.aws


@pytest.fixture(scope="package")
def signing_key(aws: Callable[[str], Any]) -> tuple[str, Any]:
    """(kid, private key) of the active key in the stack's real key ring."""
    ring = json.loads(aws("secretsmanager").get_secret_value(SecretId=KEYS_SECRET)["SecretString"])
    entry = next(key for key in ring["keys"] if key["kid"] == ring["active"])
    return entry["kid"], serialization.load_pem_private_key(entry["private_key_pem"].encode(), password=None)


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    with Api(stack.endpoints["api"]) as session:
        yield session


@pytest.fixture
def accounts(api: Any) -> Accounts:
    return Accounts(api)


@pytest.fixture
def outbox(stack: Stack) -> Callable[[str], list[dict[str, Any]]]:
    """The emails the stack sent to one address."""
    return lambda address: mail_to(stack.endpoints["control"], address)
