"""The identity seed (004, DRF): register, log in, profile, change password, reset, as its
README and its DRF clients send them. The seed's README is not in this repository; its
requests are the ones this repository documents for it (README's identity walkthrough,
docs/identity.md, the seed paths in chalicelib/auth/routes.py) and the shapes issue 14 quotes."""

from __future__ import annotations

from tests.compat.accounts import PASSWORD, bearer, fresh
from tests.e2e.identity import mail_to, reset_token_from
from tests.support.stack import wait_for

JSON = "-H 'Content-Type: application/json'"


def test_register_without_password2_then_log_in(curl):
    username = fresh("seed")
    body = f'{{"username": "{username}", "password": "{PASSWORD}", "email": "{username}@example.com"}}'
    registered = curl(f"curl -X POST $B/api/users/register/ {JSON} -d '{body}'")
    assert registered.status_code == 201, registered.text
    assert registered.json()["username"] == username
    # When the confirmation is sent, it must match.
    other = fresh("seed")
    mismatch = (
        f'{{"username": "{other}", "password": "{PASSWORD}", "password2": "x{PASSWORD}", "email": "{other}@e.com"}}'
    )
    refused = curl(f"curl -X POST $B/api/users/register/ {JSON} -d '{mismatch}'")
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "$.password2"
    tokens = curl(
        f'curl -X POST $B/api/auth/login/ {JSON} -d \'{{"username": "{username}", "password": "{PASSWORD}"}}\''
    )
    assert tokens.status_code == 200 and {"access", "refresh"} <= set(tokens.json())


def test_drf_test_client_bodies_multipart_and_form(curl):
    username = fresh("drf")
    registered = curl(
        f"curl -X POST $B/api/users/register/ -F username={username} -F 'password={PASSWORD}' "
        f"-F email={username}@example.com -F first_name=Ada"
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["first_name"] == "Ada"
    login = curl(f"curl -X POST $B/api/auth/login/ -d 'username={username}&password={PASSWORD}'")
    assert login.status_code == 200, login.text


def test_put_profile_with_only_names_keeps_the_email(curl):
    username = fresh("put")
    auth = bearer(curl, username)
    put = curl(
        f"curl -X PUT $B/api/v1/users/profile/ {JSON} -H 'Authorization: $AUTH' "
        """-d '{"first_name": "Ada", "last_name": "Lovelace"}'""",
        AUTH=auth["Authorization"],
    )
    assert put.status_code == 200, put.text
    assert put.json()["email"] == f"{username}@example.com" and put.json()["last_name"] == "Lovelace"
    # The same from a DRF form.
    form = curl(
        "curl -X PUT $B/api/v1/users/profile/ -H 'Authorization: $AUTH' -d 'first_name=Augusta&last_name=King'",
        AUTH=auth["Authorization"],
    )
    assert form.status_code == 200 and form.json()["first_name"] == "Augusta"


def test_change_password_without_the_confirmation(curl):
    username = fresh("chpw")
    auth = bearer(curl, username)
    new = "tulip orbit lantern 77"
    changed = curl(
        f"curl -X POST $B/api/users/change-password/ {JSON} -H 'Authorization: $AUTH' "
        f"""-d '{{"old_password": "{PASSWORD}", "new_password": "{new}"}}'""",
        AUTH=auth["Authorization"],
    )
    assert changed.status_code == 204, changed.text
    assert curl(f"curl -X POST $B/api/auth/login/ -d 'username={username}&password={new}'").status_code == 200
    mismatch = curl(
        f"curl -X POST $B/api/users/change-password/ {JSON} -H 'Authorization: $AUTH' "
        f"""-d '{{"old_password": "{PASSWORD}", "new_password": "river stone maple 19", "new_password2": "nope"}}'""",
        AUTH=bearer(curl, fresh("chpw"))["Authorization"],
    )
    assert mismatch.status_code == 400 and mismatch.json()["errors"][0]["path"] == "$.new_password2"


def test_password_reset_form_answers_the_same_whatever_the_email(curl, stack):
    username = fresh("reset")
    bearer(curl, username)
    page = curl("curl $B/api/users/password_reset/")
    assert page.status_code == 200 and 'name="email"' in page.text
    known = curl(f"curl -X POST $B/api/users/password_reset/ -d 'email={username}@example.com'")
    unknown = curl(f"curl -X POST $B/api/users/password_reset/ -d 'email=nobody-{username}@example.com'")
    assert (known.status_code, known.text) == (unknown.status_code, unknown.text) == (200, known.text)
    mail = wait_for(lambda: mail_to(stack.endpoints["control"], f"{username}@example.com"))
    link, token = reset_token_from(mail[0])
    form = curl(f"curl '$B{link}'")
    assert 'name="new_password"' in form.text and token in form.text
    assert mail_to(stack.endpoints["control"], f"nobody-{username}@example.com") == []
