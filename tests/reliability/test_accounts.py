"""Account takeover, tried as an attacker would (issue 13, items 1-5, 8, 10 and 13): what a stolen
token or API key cannot do, what a password change, reset or logout revokes at once, which
identifiers cannot be registered beside another, and what the audit trail records."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest

from tests.e2e.identity import RESET_LINK, mail_to, strong_password, unique
from tests.support.stack import wait_for

REGISTER = "/api/v1/users/register/"
LOGIN = "/api/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
PROFILE = "/api/v1/users/profile/"
CHANGE = "/api/v1/users/change-password/"
RESET = "/api/v1/users/password-reset/"
CONFIRM = "/api/v1/users/password-reset/confirm/"
KEYS = "/api/v1/api-keys/"
CONFIRM_LINK = re.compile(r"/api/v1/users/email/confirm\?token=(\S+)")


class Person:
    def __init__(self, api, prefix: str) -> None:
        self.api = api
        self.username = unique(prefix)
        self.email = f"{self.username}@example.com"
        self.password = strong_password()
        body = {"username": self.username, "email": self.email, "password": self.password, "password2": self.password}
        registered = api.post(REGISTER, json=body)
        assert registered.status_code == 201, registered.text
        self.id = registered.json()["id"]

    def login(self, password: str | None = None) -> dict[str, str]:
        response = self.api.post(LOGIN, json={"username": self.username, "password": password or self.password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access']}"}

    def key(self, auth: dict[str, str], **body) -> dict[str, str]:
        response = self.api.post(KEYS, headers=auth, json={"name": "k", **body})
        assert response.status_code == 201, response.text
        return {"X-API-Key": response.json()["key"]}


@pytest.fixture
def outbox(stack):
    return lambda address: mail_to(stack.endpoints["control"], address)


def resets(outbox, address: str) -> list[dict]:
    return [message for message in outbox(address) if message["subject"] == "Reset your password"]


def reset_token(api, outbox, person: Person, mails: int = 1) -> str:
    assert api.post(RESET, json={"email": person.email}).status_code == 202
    messages = wait_for(lambda: len(resets(outbox, person.email)) >= mails and resets(outbox, person.email))
    return unquote(RESET_LINK.search(messages[-1]["body"]).group(1))


# -- 1. the email cannot be changed behind the owner's back ----------------------------------------


def test_a_stolen_key_or_token_cannot_move_the_email_and_reset_from_there(api, outbox, tally):
    victim = Person(api, "victim")
    token = victim.login()
    key = victim.key(token, scopes=["profile:read", "profile:write"])
    attacker = f"{unique('attacker')}@example.com"

    by_key = api.patch(PROFILE, headers=key, json={"email": attacker, "current_password": victim.password})
    assert by_key.status_code == 403, by_key.text
    assert api.put(PROFILE, headers=key, json={"email": attacker, "first_name": "", "last_name": ""}).status_code == 403
    by_token = api.patch(PROFILE, headers=token, json={"email": attacker})
    assert by_token.status_code == 400 and by_token.json()["errors"][0]["path"] == "$.current_password"
    # Even with the password the change is only pending: a reset to the new address reaches nobody.
    pending = api.patch(PROFILE, headers=token, json={"email": attacker, "current_password": victim.password})
    assert pending.status_code == 200 and pending.json()["email"] == victim.email
    assert api.post(RESET, json={"email": attacker}).status_code == 202
    wait_for(lambda: outbox(victim.email))  # the old address is told
    time.sleep(0.5)
    assert not any(m["subject"] == "Reset your password" for m in outbox(attacker))
    assert api.get(PROFILE, headers=token).json()["email"] == victim.email
    tally["operations tried"] += 6


def test_api_keys_cannot_change_the_password_whatever_their_scopes(api, tally):
    person = Person(api, "keypw")
    key = person.key(person.login())
    new = strong_password()
    body = {"old_password": person.password, "new_password": new, "new_password2": new}
    assert api.post(CHANGE, headers=key, json=body).status_code == 403
    person.login()
    tally["operations tried"] += 1


# -- 2. revocation at once -----------------------------------------------------------------------


def test_a_password_change_revokes_every_earlier_access_token_at_once(api, tally):
    person = Person(api, "revoke")
    first, second = person.login(), person.login()
    new = strong_password()
    body = {"old_password": person.password, "new_password": new, "new_password2": new}
    assert api.post(CHANGE, headers=first, json=body).status_code == 204
    # Minted in the same second as the change, after it: valid. Every token before it: refused.
    fresh = person.login(new)
    for stale in (first, second):
        assert api.get(PROFILE, headers=stale).status_code == 401
        assert api.post(KEYS, headers=stale, json={"name": "persist"}).status_code == 401
    assert api.get(PROFILE, headers=fresh).status_code == 200
    tally["operations tried"] += 5


def test_a_reset_revokes_access_tokens_and_deletes_the_api_keys(api, outbox, tally):
    person = Person(api, "resetrev")
    token = person.login()
    minted = person.key(token)  # what an intruder holding the session would leave behind
    new = strong_password()
    assert api.post(CONFIRM, json={"token": reset_token(api, outbox, person), "new_password": new}).status_code == 204
    assert api.get(PROFILE, headers=token).status_code == 401
    assert api.get(PROFILE, headers=minted).status_code == 401
    assert api.get(KEYS, headers=person.login(new)).json()["count"] == 0
    tally["operations tried"] += 4


def test_logout_ends_that_sessions_access_token_only(api, tally):
    person = Person(api, "logoutat")
    ended, kept = person.login(), person.login()
    assert api.post(LOGOUT, headers=ended).status_code == 204
    assert api.get(PROFILE, headers=ended).status_code == 401
    assert api.get(PROFILE, headers=kept).status_code == 200
    tally["operations tried"] += 3


def test_revoke_all_my_keys(api, tally):
    person = Person(api, "revokeall")
    token = person.login()
    keys = [person.key(token), person.key(token, scopes=["logs:write"])]
    response = api.delete(KEYS, headers=token)
    assert response.status_code == 200 and response.json() == {"deleted": 2}
    assert all(api.get(PROFILE, headers=key).status_code == 401 for key in keys)
    assert api.delete(KEYS, headers=keys[0]).status_code == 401
    tally["operations tried"] += 4


# -- 3-5. identifiers --------------------------------------------------------------------------------


def register(api, username: str, email: str | None = None):
    password = strong_password()
    email = email or f"{unique('id')}@example.com"
    return api.post(REGISTER, json={"username": username, "email": email, "password": password, "password2": password})


def test_a_username_cannot_capture_another_users_login_by_email(api, tally):
    victim = Person(api, "emailer")
    assert register(api, victim.email).status_code == 400
    for credentials in ({"username": victim.email}, {"email": victim.email}):
        response = api.post(LOGIN, json={**credentials, "password": victim.password})
        assert response.status_code == 200, response.text
    tally["operations tried"] += 3


def test_the_oidc_username_namespace_is_reserved(api, tally):
    for name in ("oidc-0123456789abcdef", "OIDC-0123456789abcdef", "ｏｉｄｃ-0123456789abcdef"):
        response = register(api, name)
        assert response.status_code == 400 and response.json()["errors"][0]["path"] == "$.username", name
        tally["inputs fuzzed"] += 1


def test_look_alike_usernames_do_not_make_a_second_account(api, tally):
    base = unique("twin")
    assert register(api, base).status_code == 201
    refused = {
        f"{base}\n": 400,
        f"{base} ": 400,
        f"{base[:2]}\u200b{base[2:]}": 400,
        base.replace("i", "\u0456", 1): 400,  # Cyrillic і
        base.upper(): 409,
        "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in base): 409,  # full-width
    }
    for name, status in refused.items():
        assert register(api, name).status_code == status, repr(name)
        tally["inputs fuzzed"] += 1


def test_look_alike_emails_do_not_make_a_second_account(api, tally):
    email = f"{unique('mailtwin')}@example.com"
    assert register(api, unique("m"), email).status_code == 201
    for variant, status in {
        email.upper(): 409,
        email.replace("@example.com", "@EXAMPLE.COM"): 409,
        email + "\n": 400,
        " " + email: 400,
        email.replace("@", "\u200b@"): 400,
    }.items():
        assert register(api, unique("m"), variant).status_code == status, repr(variant)
        tally["inputs fuzzed"] += 1


# -- 8. password resets --------------------------------------------------------------------------


def test_reset_requests_are_throttled_per_address_and_a_new_link_voids_the_old(api, outbox, tally):
    person = Person(api, "flood")
    first = reset_token(api, outbox, person)
    second = reset_token(api, outbox, person, mails=2)
    answers = [api.post(RESET, json={"email": person.email}).status_code for _ in range(13)]
    tally["operations tried"] += 15
    assert answers[0] == 202 and set(answers[1:]) == {429}, answers
    time.sleep(0.5)
    assert len(wait_for(lambda: len(outbox(person.email)) >= 3 and outbox(person.email))) == 3
    assert api.post(CONFIRM, json={"token": first, "new_password": strong_password()}).status_code == 400
    assert api.post(CONFIRM, json={"token": second, "new_password": strong_password()}).status_code == 400


def test_reset_answers_the_same_for_known_and_unknown_addresses(api, tally):
    person = Person(api, "oracle")
    known = api.post(RESET, json={"email": person.email})
    unknown = api.post(RESET, json={"email": f"{unique('nobody')}@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    tally["operations tried"] += 2


# -- 10. scopes ------------------------------------------------------------------------------------


def test_an_empty_scope_list_is_refused_not_every_scope(api, tally):
    person = Person(api, "noscope")
    response = api.post(KEYS, headers=person.login(), json={"name": "none", "scopes": []})
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "$.scopes"
    tally["operations tried"] += 1


# -- 13. the audit trail ---------------------------------------------------------------------------


def test_a_takeover_leaves_a_trace_in_the_audit_log(api, users, outbox, tally):
    person = Person(api, "traced")
    token = person.login()
    key = api.post(KEYS, headers=token, json={"name": "k"}).json()
    api.post(f"{KEYS}{key['id']}/regenerate/", headers=token)
    api.delete(f"{KEYS}{key['id']}/", headers=token)
    new_email = f"moved-{person.email}"
    api.patch(PROFILE, headers=token, json={"email": new_email, "current_password": person.password})
    link = wait_for(lambda: outbox(new_email))[0]["body"]
    assert api.post("/api/v1/users/email/confirm", json={"token": unquote(CONFIRM_LINK.search(link).group(1))}).ok
    new = strong_password()
    api.post(CHANGE, headers=token, json={"old_password": person.password, "new_password": new, "new_password2": new})
    person.email = new_email
    api.post(CONFIRM, json={"token": reset_token(api, outbox, person), "new_password": strong_password()})
    for _ in range(5):
        api.post(LOGIN, json={"username": person.username, "password": "Not-the-password-1"})
    wanted = {
        "user.api_key_created",
        "user.api_key_regenerated",
        "user.api_key_deleted",
        "user.email_change_requested",
        "user.email_changed",
        "user.password_changed",
        "user.login_throttled",
    }

    def recorded():
        page = api.get("/api/v1/admin/audit", params={"type": "user.", "limit": 100}, headers=users["admin"]).json()
        mine = [item for item in page["items"] if item["subject"] == person.id]
        return mine if wanted <= {item["type"] for item in mine} else None

    entries = wait_for(recorded, timeout_s=20, interval_s=0.3)
    via = sorted(item["data"]["via"] for item in entries if item["type"] == "user.password_changed")
    assert via == ["change", "reset"]
    tally["operations tried"] += 12
