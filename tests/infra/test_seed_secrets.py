"""`python -m infrastructure.seed_secrets`: placeholders get a generated value once, never twice."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.auth.keys import KeyRing
from infrastructure.seed_secrets import is_placeholder, seed

PLACEHOLDER = json.dumps({"placeholder": True, "nonce": "a1b2c3"})


@pytest.fixture
def secretsmanager(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        for key in resources.SECRETS:
            client.create_secret(Name=f"sp-dev-{key}", SecretString=PLACEHOLDER)
        yield client


def test_placeholders_are_seeded_once(secretsmanager) -> None:
    assert seed(secretsmanager, "sp-dev", dry_run=True) == {f"sp-dev-{k}": "would seed" for k in resources.SECRETS}
    assert seed(secretsmanager, "sp-dev") == {f"sp-dev-{k}": "seeded" for k in resources.SECRETS}
    ring = secretsmanager.get_secret_value(SecretId="sp-dev-jwt-signing-keys")["SecretString"]
    assert KeyRing.from_secret(ring).active.kid
    # A second run (or one after a rotation) leaves the real value alone.
    assert seed(secretsmanager, "sp-dev") == {f"sp-dev-{k}": "kept" for k in resources.SECRETS}
    assert secretsmanager.get_secret_value(SecretId="sp-dev-jwt-signing-keys")["SecretString"] == ring


@pytest.mark.parametrize(
    ("value", "expected"),
    [(PLACEHOLDER, True), ('{"active": "k1", "keys": []}', False), ("not json", False), ('["placeholder"]', False)],
)
def test_what_counts_as_a_placeholder(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected
