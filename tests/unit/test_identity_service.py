"""IdentityService through the identity context's composition root, with the accounts table in
memory, Redis faked (throttles, the revocation cache) and mail captured: registration and its
uniqueness, login and its throttle, refresh rotation with reuse detection, logout, password
changes and resets voiding every earlier token, email changes, API keys. No moto, no sockets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.auth.container import build
from chalicelib.auth.keys import KeyRingSource, new_keyring_secret
from chalicelib.auth.service import IdentityService
from chalicelib.config import Settings
from chalicelib.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthenticated, ValidationFailed
from chalicelib.principal import Principal
from tests.unit.fake_stores import InMemoryIdentity
from tests.unit.fakes import FakeClients

PASSWORD = "correct horse battery 42"
NEW_PASSWORD = "tulip orbit lantern 7"
CLIENT = "203.0.113.9"


@pytest.fixture(scope="module")
def key_ring() -> KeyRingSource:
    secret = new_keyring_secret()
    return KeyRingSource(lambda: secret)


class Accounts:
    def __init__(self, key_ring: KeyRingSource) -> None:
        self.store = InMemoryIdentity()
        self.mail: list[tuple[str, str, str]] = []
        self.resets: list[str] = []
        settings = Settings.from_env({"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16", "LOGIN_THROTTLE_LIMIT": "3"})
        self.service: IdentityService = build(
            settings,
            FakeClients(),
            store=self.store,
            key_ring=key_ring,
            send_email=self.send,
            enqueue_reset=self.resets.append,
        ).service

    def send(self, to: str, subject: str, text: str) -> str:
        self.mail.append((to, subject, text))
        return f"message-{len(self.mail)}"

    def register(self, username: str = "alice", email: str = "alice@example.com") -> dict[str, Any]:
        return self.service.register({"username": username, "email": email, "password": PASSWORD})

    def login(self, identifier: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
        return self.service.login(identifier, password, CLIENT)

    def caller(self, tokens: dict[str, Any]) -> Principal:
        return self.service.authenticate_bearer(tokens["access"])

    def link_token(self) -> str:
        found = re.search(r"token=([^\s&]+)", self.mail[-1][2])
        assert found, self.mail[-1]
        return found.group(1).replace("%2E", ".")


@pytest.fixture
def accounts(key_ring: KeyRingSource) -> Accounts:
    return Accounts(key_ring)


def test_registration_validates_and_claims_the_username_and_email_once(accounts):
    profile = accounts.register()
    assert (profile["username"], profile["email"], profile["roles"]) == ("alice", "alice@example.com", ["user"])
    for username, email in (("ALICE", "other@example.com"), ("other", "Alice@Example.com")):
        with pytest.raises(Conflict, match="already taken"):
            accounts.register(username, email)
    with pytest.raises(ValidationFailed) as refused:
        accounts.service.register(
            {"username": "a@b", "email": "not-an-address", "password": "short", "password2": "other"}
        )
    assert {"$.username", "$.email", "$.password2"} <= {error.path for error in refused.value.errors}
    assert len(accounts.store.users) == 1


def test_login_by_username_or_email_and_a_throttle_after_repeated_failures(accounts):
    accounts.register()
    assert accounts.caller(accounts.login("alice")).username == "alice"
    assert accounts.caller(accounts.login("ALICE@example.com")).username == "alice"
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="Invalid username or password"):
            accounts.login("alice", "wrong password entirely")
    with pytest.raises(TooManyRequests):
        accounts.login("alice", PASSWORD)
    assert [event for event, _ in accounts.store.security_events] == ["user.login_throttled"]
    with pytest.raises(Unauthenticated, match="Invalid username or password"):
        accounts.login("nobody", PASSWORD)


def test_a_refresh_rotates_and_a_reused_refresh_token_ends_the_session(accounts):
    accounts.register()
    first = accounts.login()
    second = accounts.service.refresh(first["refresh"])
    assert second["refresh"] != first["refresh"] and accounts.caller(second).username == "alice"
    with pytest.raises(Unauthenticated, match="already used"):
        accounts.service.refresh(first["refresh"])
    # The thief's reuse ended the whole session, the rightful holder's newer token with it.
    with pytest.raises(Unauthenticated, match="revoked"):
        accounts.service.refresh(second["refresh"])
    with pytest.raises(Unauthenticated):
        accounts.service.refresh("not-a-token")


def test_logout_ends_that_session_at_once_and_no_other(accounts):
    accounts.register()
    kept, ended = accounts.login(), accounts.login()
    accounts.service.logout(accounts.caller(ended))
    with pytest.raises(Unauthenticated, match="session has ended"):
        accounts.caller(ended)
    with pytest.raises(Unauthenticated):
        accounts.service.refresh(ended["refresh"])
    assert accounts.caller(kept).username == "alice"


def test_a_password_change_voids_every_earlier_token(accounts):
    accounts.register()
    tokens = accounts.login()
    principal = accounts.caller(tokens)
    with pytest.raises(ValidationFailed) as wrong:
        accounts.service.change_password(principal, {"old_password": "nope", "new_password": NEW_PASSWORD})
    assert [error.path for error in wrong.value.errors] == ["$.old_password"]
    accounts.service.change_password(principal, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    with pytest.raises(Unauthenticated, match="revoked by a password change"):
        accounts.caller(tokens)
    with pytest.raises(Unauthenticated):
        accounts.service.refresh(tokens["refresh"])
    with pytest.raises(Unauthenticated):
        accounts.login()
    assert accounts.caller(accounts.login(password=NEW_PASSWORD)).username == "alice"
    assert accounts.store.users[principal.user_id].password_changed_via == "change"


def test_a_reset_link_works_once_and_voids_sessions_and_api_keys(accounts):
    accounts.register()
    tokens = accounts.login()
    principal = accounts.caller(tokens)
    accounts.service.create_api_key(principal, {"name": "ci"})
    accounts.service.request_password_reset("Alice@Example.com", CLIENT)
    assert accounts.resets == ["alice@example.com"] and accounts.mail == []
    assert accounts.service.send_password_reset(accounts.resets[0]) is True
    assert accounts.service.send_password_reset("nobody@example.com") is False
    token = accounts.link_token()
    with pytest.raises(ValidationFailed):  # a refused password does not burn the link
        accounts.service.confirm_password_reset(token, "alice")
    accounts.service.confirm_password_reset(token, NEW_PASSWORD)
    with pytest.raises(ValidationFailed, match="validation"):
        accounts.service.confirm_password_reset(token, NEW_PASSWORD + "!")
    with pytest.raises(Unauthenticated):
        accounts.caller(tokens)
    assert accounts.store.keys == {} and accounts.caller(accounts.login(password=NEW_PASSWORD))


def test_a_newer_reset_link_voids_the_older_one(accounts):
    accounts.register()
    accounts.service.send_password_reset("alice@example.com")
    older = accounts.link_token()
    accounts.service.send_password_reset("alice@example.com")
    with pytest.raises(ValidationFailed):
        accounts.service.confirm_password_reset(older, NEW_PASSWORD)
    accounts.service.confirm_password_reset(accounts.link_token(), NEW_PASSWORD)


def test_a_new_email_is_pending_until_its_link_is_opened(accounts):
    accounts.register()
    accounts.register("bob", "bob@example.com")
    principal = accounts.caller(accounts.login())
    with pytest.raises(ValidationFailed):
        accounts.service.update_profile(principal, {"email": "alice@example.org"})
    with pytest.raises(Conflict):
        accounts.service.update_profile(principal, {"email": "bob@example.com", "current_password": PASSWORD})
    pending = accounts.service.update_profile(
        principal, {"email": "alice@example.org", "current_password": PASSWORD, "first_name": "Alice"}
    )
    assert (pending["email"], pending["pending_email"], pending["first_name"]) == (
        "alice@example.com",
        "alice@example.org",
        "Alice",
    )
    assert [to for to, _, _ in accounts.mail] == ["alice@example.org", "alice@example.com"]
    confirmed = accounts.service.confirm_email_change(re.search(r"token=(\S+)", accounts.mail[0][2]).group(1))
    assert (confirmed["email"], confirmed["pending_email"]) == ("alice@example.org", None)
    assert accounts.caller(accounts.login("alice@example.org")).username == "alice"
    key = accounts.service.create_api_key(principal, {"name": "ci", "scopes": ["profile:write"]})
    by_key = accounts.service.authenticate_api_key(key["key"], CLIENT)
    with pytest.raises(Forbidden):
        accounts.service.update_profile(by_key, {"email": "x@example.com", "current_password": PASSWORD})


def test_api_keys_act_for_their_owner_within_their_scopes(accounts):
    accounts.register()
    accounts.register("bob", "bob@example.com")
    alice, bob = accounts.caller(accounts.login()), accounts.caller(accounts.login("bob"))
    created = accounts.service.create_api_key(alice, {"name": "ci", "scopes": ["logs:write"]})
    principal = accounts.service.authenticate_api_key(created["key"], CLIENT)
    assert (principal.user_id, principal.via, principal.scopes) == (alice.user_id, "api_key", frozenset({"logs:write"}))
    assert principal.allows("logs:write") and not principal.allows("orders:write")
    assert [key["id"] for key in accounts.service.api_keys(alice)] == [created["id"]]
    with pytest.raises(NotFound):
        accounts.service.regenerate_api_key(bob, created["id"])
    regenerated = accounts.service.regenerate_api_key(alice, created["id"])
    with pytest.raises(Unauthenticated):
        accounts.service.authenticate_api_key(created["key"], CLIENT)
    assert accounts.service.authenticate_api_key(regenerated["key"], CLIENT).user_id == alice.user_id
    with pytest.raises(ValidationFailed):
        accounts.service.create_api_key(alice, {"name": "x", "scopes": ["root"]})
    accounts.service.delete_api_key(alice, created["id"])
    with pytest.raises(Unauthenticated):
        accounts.service.authenticate_api_key(regenerated["key"], CLIENT)


def test_ensure_admin_creates_or_promotes_once(accounts):
    accounts.register()
    assert accounts.service.ensure_admin("alice", "alice@example.com", PASSWORD)["roles"] == ["user", "admin"]
    assert accounts.service.ensure_admin("alice", "alice@example.com", PASSWORD)["roles"] == ["user", "admin"]
    assert accounts.service.ensure_admin("root", "root@example.com", PASSWORD)["roles"] == ["user", "admin"]
    assert accounts.service.email_of(accounts.caller(accounts.login("root")).user_id) == "root@example.com"
    assert accounts.service.email_of("nobody") is None
