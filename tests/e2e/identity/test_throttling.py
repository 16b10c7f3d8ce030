"""Failed-attempt throttling: logins per (client, account), API keys per client.

Every request of these tests comes from one client (the local API Gateway reports 127.0.0.1).
"""

from __future__ import annotations

import pytest
import redis

from tests.e2e.identity import LOGIN, LOGIN_THROTTLE_LIMIT, PROFILE, assert_problem

API_KEY_LIMIT = LOGIN_THROTTLE_LIMIT * 4
WRONG = "Not-the-password-0"


def assert_throttled(response) -> int:
    assert_problem(response, 429)
    assert response.json()["type"] == "/problems/too-many-requests"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def fail_logins(api, count: int, **identifier: str) -> None:
    for attempt in range(count):
        response = api.post(LOGIN, json={**identifier, "password": WRONG})
        assert response.status_code == 401, (attempt, response.text)


def test_failed_logins_throttle_the_account_even_for_the_right_password(api, accounts):
    account = accounts.register("throttled")
    bystander = accounts.register("bystander")
    fail_logins(api, LOGIN_THROTTLE_LIMIT, username=account.username)

    right = api.post(LOGIN, json={"username": account.username, "password": account.password})
    assert assert_throttled(right) <= 300
    assert_throttled(api.post(LOGIN, json={"username": account.username.upper(), "password": account.password}))
    # Another account, from the same client, is not affected.
    accounts.login(bystander)


def test_a_successful_login_clears_the_count(api, accounts):
    account = accounts.register("clears")
    fail_logins(api, LOGIN_THROTTLE_LIMIT - 1, username=account.username)
    accounts.login(account)
    fail_logins(api, LOGIN_THROTTLE_LIMIT - 1, username=account.username)
    accounts.login(account)


def test_the_login_throttle_counts_per_account_not_per_identifier(api, accounts):
    account = accounts.register("byemail")
    fail_logins(api, LOGIN_THROTTLE_LIMIT, username=account.username)
    assert_throttled(api.post(LOGIN, json={"email": account.email, "password": account.password}))


@pytest.fixture
def api_key_throttle(stack):
    """The per-client API-key failure counter, cleared before and after: every test here is one client."""
    client = redis.Redis.from_url(stack.endpoints["redis"])

    def clear() -> None:
        for name in client.scan_iter(match="throttle:api-key:*"):
            client.delete(name)

    clear()
    yield
    clear()
    client.close()


def test_bad_api_keys_are_throttled_per_client_but_a_valid_key_never_is(api, accounts, api_key_throttle):
    account = accounts.logged_in("keyed")
    created = api.post("/api/v1/api-keys", headers=account.auth, json={"name": "good"})
    good = {"X-API-Key": created.json()["key"]}
    assert api.get(PROFILE, headers=good).status_code == 200

    for attempt in range(API_KEY_LIMIT):
        header = {"X-API-Key": f"garbage-{attempt}"} if attempt % 2 else {"Authorization": f"Api-Key nope-{attempt}"}
        assert_problem(api.get(PROFILE, headers=header), 401)
    assert_throttled(api.get(PROFILE, headers={"X-API-Key": "garbage-again"}))
    assert_throttled(api.get(PROFILE, headers={"X-API-Key": f"spk_{'0' * 16}_{'z' * 43}"}))
    # Every caller of the local server is 127.0.0.1: a flood of bad keys from "the same client"
    # must not lock out the valid key of someone else (docs/identity.md, "Throttling").
    assert api.get(PROFILE, headers=good).status_code == 200
    assert api.get(PROFILE, headers=account.auth).status_code == 200
