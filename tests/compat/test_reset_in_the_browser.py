"""The identity seed's password reset in a real browser (headless Chromium, JavaScript off):
"navigate to /api/users/password_reset/ and enter the user's email", then the mailed link's
form. Both pages must work as plain HTML forms under their strict CSP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat.accounts import PASSWORD, bearer, fresh
from tests.e2e.identity import mail_to, reset_token_from
from tests.support.stack import wait_for


@pytest.fixture
def browser(chromium) -> Iterator[tuple[Any, list[str]]]:
    """A tab with JavaScript off, in the session's Chromium, and what its console says."""
    context = chromium.new_context(java_script_enabled=False)
    console: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: console.append(message.text))
    yield page, console
    context.close()


def test_reset_by_email_form_then_the_mailed_link(browser, curl, stack):
    page, console = browser
    username = fresh("browser")
    bearer(curl, username)
    base = stack.endpoints["api"]

    page.goto(f"{base}/api/users/password_reset/")
    page.fill("input[name=email]", f"{username}@example.com")
    page.click("button[type=submit]")
    assert "a link to choose a new password is on its way" in page.content()

    link, _ = reset_token_from(wait_for(lambda: mail_to(stack.endpoints["control"], f"{username}@example.com"))[0])
    page.goto(base + link)
    new = "violet harbour engine 31"
    page.fill("input[name=new_password]", new)
    page.click("button[type=submit]")
    assert "Your password is changed" in page.content()
    # The used link shows the email form again, with the reason.
    page.goto(base + link)
    page.fill("input[name=new_password]", "another fine password 12")
    page.click("button[type=submit]")
    assert page.locator("input[name=email]").count() == 1

    login = curl(f"curl -X POST $B/api/auth/login/ -d 'username={username}&password={new}'")
    assert login.status_code == 200
    assert curl(f"curl -X POST $B/api/auth/login/ -d 'username={username}&password={PASSWORD}'").status_code == 401
    assert not [text for text in console if "Content Security Policy" in text], console
