"""Headless Chromium for the console tests: Debian's `chromium` driven by Playwright (which is
told where it is, and never downloads a browser of its own), and a watch on each page for
console errors, uncaught exceptions and Content-Security-Policy violations."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

from tests.support.stack import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# --headless comes from Playwright; it also gives every launch a fresh profile (user data dir).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "docs" / "screenshots"))
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# The page reports each CSP violation to its console, where the watch below sees it. An init
# script is injected by the browser's debugging protocol, so the page's own CSP does not apply.
REPORT_CSP = """window.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));"""


def unavailable() -> str | None:
    """Why the browser tests cannot run here, with how to fix it; None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -r requirements-dev.txt (make test does)"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"no Chromium at {CHROMIUM}: install Debian's with `sudo apt-get install -y chromium` "
            "(.ci/run does), or set CHROMIUM to a Chromium binary"
        )
    return None


class Watch:
    """Everything a page logs as an error. A test that provokes one on purpose (a wrong password
    answered 401) says so with expect(); any other fails the test."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def check(self) -> None:
        unexpected = [e for e in self.errors if not any(p.search(e) for p in self.expected)]
        self.errors.clear()
        self.expected.clear()
        assert not unexpected, unexpected


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Charts draw once their container has a size: wait for the page to be idle first. From the
    # top, with no hover highlight where the pointer was last.
    page.wait_for_load_state("networkidle")
    page.mouse.move(0, 0)
    page.evaluate("() => scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")
