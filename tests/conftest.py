"""What every test folder may share: one headless Chromium for the whole session (Playwright
allows one driver per thread, so the console's tests and the compat pages share it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, FLAGS, unavailable

SKIPPED: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Skip reasons are hidden without -rs; a skipped browser suite must not go unnoticed.
    if SKIPPED:
        terminalreporter.write_line(f"browser tests skipped: {SKIPPED[0]}", yellow=True, bold=True)


# Session-scoped like the stacks, so that pytest asks for it first: without Chromium the tests
# skip before a local cloud starts for nothing.
@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    reason = unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {reason}")
        SKIPPED.append(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()
