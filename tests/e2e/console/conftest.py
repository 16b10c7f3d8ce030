"""The console in a real browser, on the e2e session's local cloud: one Chromium for every test
here, one account whose known log lines (tests/e2e/console/data.py) are shipped through the
API as a log shipper would, and one signed-in page that the tests share."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api
from tests.e2e.console.data import Dataset
from tests.e2e.users import PASSWORD, login, register
from tests.support.browser import REPORT_CSP, WIDE, Watch
from tests.support.stack import Stack, wait_for


@dataclass
class Account:
    username: str
    headers: dict[str, str]
    data: Dataset
    rules: dict[str, str]


@dataclass
class Tab:
    context: Any
    page: Any
    watch: Watch
    base: str

    def open(self, fragment: str = "") -> None:
        self.page.goto(f"{self.base}/console{fragment}")


def evaluate_alerts(stack: Stack) -> None:
    response = requests.post(f"{stack.endpoints['control']}/schedules/evaluate_alerts", timeout=10)
    assert response.status_code == 202


RULES = {
    # Every error of the last hour: the window's and the burst's.
    "errors this hour": {"query": {"level": ["error"]}, "window": "1h", "comparison": ">", "threshold": 5},
    # The burst alone, until it leaves the 30 s window a few seconds into the tests.
    "checkout burst": {"query": {"service": ["checkout"]}, "window": "30s", "comparison": ">", "threshold": 5},
    "never": {"query": {"q": "nosuchword"}, "window": "5m", "comparison": ">", "threshold": 0},
}


@pytest.fixture(scope="package")
def account(stack: Stack, chromium: Any) -> Account:
    api = Api(stack.endpoints["api"])
    username = register(api, "console")
    headers = login(api, username, PASSWORD)
    data = Dataset.around(datetime.datetime.now(datetime.UTC))
    key = api.post("/api/v1/api-keys/", json={"name": "shipper", "scopes": ["logs:write"]}, headers=headers)
    shipper = {"X-API-Key": key.json()["key"]}
    rules = {}
    for name, rule in RULES.items():
        body = {"name": name, **rule, "channels": [{"type": "email", "to": f"{username}@example.com"}]}
        created = api.post("/api/v1/alerts/", json=body, headers=headers)
        assert created.status_code == 201, created.text
        rules[name] = created.json()["id"]
    shipped = api.post("/api/v1/logs/", json=data.events + data.burst, headers=shipper)
    assert shipped.status_code == 202, shipped.text

    def indexed() -> bool:
        found = api.get("/api/v1/logs/search/", params={"from": "now-1h", "limit": 1}, headers=headers)
        return found.json()["total"] == len(data.events) + len(data.burst)

    wait_for(indexed, timeout_s=20, interval_s=0.1)
    evaluate_alerts(stack)
    states = {name: api.get(f"/api/v1/alerts/{rules[name]}", headers=headers).json()["state"] for name in RULES}
    assert states == {"errors this hour": "firing", "checkout burst": "firing", "never": "ok"}
    return Account(username, headers, data, rules)


def new_tab(chromium: Any, base: str, viewport: dict[str, int] = WIDE) -> Tab:
    # UTC and en-US: the times and numbers the tests read are those a person there would see.
    context = chromium.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return Tab(context, page, Watch(page), base)


def sign_in(tab: Tab, username: str, password: str = PASSWORD) -> None:
    tab.page.fill("#signin-username", username)
    tab.page.fill("#signin-password", password)
    tab.page.click("form.signin button[type=submit]")


@pytest.fixture(scope="package")
def signed_in(chromium: Any, stack: Stack, account: Account) -> Iterator[Tab]:
    tab = new_tab(chromium, stack.endpoints["api"])
    # Fake timers that keep real time flowing: a test may jump ahead (a dashboard's refresh).
    tab.context.clock.install()
    tab.open("#/logs")
    sign_in(tab, account.username)
    tab.page.wait_for_selector("#sign-out")
    yield tab
    tab.context.close()


@pytest.fixture
def tab(signed_in: Tab) -> Iterator[Tab]:
    """The shared signed-in page; each test leaves it without an unexpected console error."""
    yield signed_in
    signed_in.watch.check()


@pytest.fixture
def fresh_tab(chromium: Any, stack: Stack) -> Iterator[Tab]:
    """A page of its own (a new browser context: no session, empty storage)."""
    tab = new_tab(chromium, stack.endpoints["api"])
    yield tab
    tab.watch.check()
    tab.context.close()
