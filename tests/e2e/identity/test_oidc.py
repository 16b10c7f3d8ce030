"""ID tokens of an external OIDC issuer: our own small provider (conftest.py), whose JWKS the
stack fetches over HTTP as it would Google's."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from chalicelib.auth.tokens import REFETCH_COOLDOWN_S
from tests.e2e.identity import LOGIN, PROFILE, assert_problem, bearer


def subject() -> str:
    return f"sub-{uuid.uuid4().hex}"


def test_a_valid_id_token_creates_the_user_on_first_use(api, oidc):
    sub = subject()
    email = f"{uuid.uuid4().hex[:12]}@issuer.test"
    token = oidc.id_token(sub, email=email, email_verified=True, given_name="Ida", family_name="Token")
    first = api.get(PROFILE, headers=bearer(token))
    assert first.status_code == 200, first.text
    profile = first.json()
    assert profile["username"].startswith("oidc-") and profile["roles"] == ["user"]
    assert (profile["email"], profile["first_name"], profile["last_name"]) == (email, "Ida", "Token")

    again = api.get("/api/users/profile/", headers=bearer(oidc.id_token(sub)))
    assert again.status_code == 200 and again.json() == profile
    another = api.get(PROFILE, headers=bearer(oidc.id_token(subject())))
    assert another.status_code == 200 and another.json()["id"] != profile["id"]
    # External accounts have no password: logging in by the generated username fails.
    assert_problem(api.post(LOGIN, json={"username": profile["username"], "password": "Quartz-guess-1234"}), 401)


def test_an_external_account_can_create_and_use_an_api_key(api, oidc):
    token = oidc.id_token(subject())
    key = api.post("/api/v1/api-keys", headers=bearer(token), json={"name": "from-oidc"})
    assert key.status_code == 201, key.text
    by_key = api.get(PROFILE, headers={"X-API-Key": key.json()["key"]})
    assert by_key.status_code == 200
    assert by_key.json() == api.get(PROFILE, headers=bearer(token)).json()


NOW = int(time.time())


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"iat": NOW - 600, "exp": NOW - 60}, id="expired"),
        pytest.param({"sub": None}, id="no-subject"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"iat": None}, id="no-issued-at"),
    ],
)
def test_an_id_token_with_a_bad_claim_is_refused(api, oidc, claims):
    claims = {"sub": subject(), **claims}
    assert_problem(api.get(PROFILE, headers=bearer(oidc.id_token(**claims))), 401)


def test_an_id_token_signed_by_a_key_not_in_the_jwks_is_refused(api, oidc):
    unpublished = oidc.add_key(publish=False)
    assert_problem(api.get(PROFILE, headers=bearer(oidc.id_token(subject(), kid=unpublished))), 401)
    # A published kid over a signature by another key.
    token = oidc.id_token(subject(), kid=unpublished)
    forged = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        oidc.keys[unpublished],
        algorithm="RS256",
        headers={"kid": oidc.published[0]},
    )
    assert_problem(api.get(PROFILE, headers=bearer(forged)), 401)


def test_an_id_token_from_an_issuer_not_configured_is_refused(api, oidc):
    # Signed with a key the configured issuer publishes, so only the issuer is wrong.
    token = oidc.id_token(subject(), iss="https://stranger.test")
    assert_problem(api.get(PROFILE, headers=bearer(token)), 401)
    assert api.get(PROFILE, headers=bearer(oidc.id_token(subject()))).status_code == 200


def test_a_key_the_issuer_publishes_later_is_accepted(api, oidc):
    # The current key set is loaded, and a fetch happened just now (an unknown kid asks for one).
    assert api.get(PROFILE, headers=bearer(oidc.id_token(subject()))).status_code == 200
    stray = oidc.add_key(publish=False)
    assert_problem(api.get(PROFILE, headers=bearer(oidc.id_token(subject(), kid=stray))), 401)

    rotated = oidc.add_key()
    # The refetch on an unknown kid is rate-limited (REFETCH_COOLDOWN_S) against made-up kids.
    time.sleep(REFETCH_COOLDOWN_S)
    response = api.get(PROFILE, headers=bearer(oidc.id_token(subject(), kid=rotated)))
    assert response.status_code == 200, response.text


def test_an_external_account_cannot_release_another_accounts_email(api, accounts, oidc):
    victim = accounts.register("victim")
    token = oidc.id_token(subject(), email=victim.email, email_verified=True)
    profile = api.get(PROFILE, headers=bearer(token))
    assert profile.status_code == 200 and profile.json()["id"] != victim.id
    # Without a password to confirm it with, an external account cannot change its email here at all.
    moved = api.patch(PROFILE, headers=bearer(token), json={"email": f"{uuid.uuid4().hex[:12]}@issuer.example"})
    assert moved.status_code == 409, moved.text

    response = api.post(LOGIN, json={"email": victim.email, "password": victim.password})
    assert response.status_code == 200, response.text
