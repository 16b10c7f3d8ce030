"""The reliability and security suite: one stack of its own (its fault drills would disturb
others), and a tally of what was tried, printed at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import ADMIN, Api, start_test_stack
from tests.e2e.users import login, new_user

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="package")
def stack():
    # The brute-force tests need a small allowance; the rest of the suite logs in rarely.
    stack = start_test_stack(LOGIN_THROTTLE_LIMIT="5")
    yield stack
    stack.stop()


@pytest.fixture
def api(stack):
    with Api(stack.endpoints["api"]) as session:
        yield session


@pytest.fixture(scope="package")
def users(stack):
    """Two ordinary users and the administrator, as auth headers."""
    with Api(stack.endpoints["api"]) as session:
        return {
            "alice": new_user(session, "ralice"),
            "bob": new_user(session, "rbob"),
            "admin": login(session, ADMIN["username"], ADMIN["password"]),
        }


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not TALLY:
        return
    failures = sum(1 for report in terminalreporter.stats.get("failed", []) if "tests/reliability" in report.nodeid)
    terminalreporter.write_sep("-", "reliability counts")
    for name in ("operations tried", "faults injected", "inputs fuzzed"):
        terminalreporter.write_line(f"{name}: {TALLY[name]}")
    terminalreporter.write_line(f"failures: {failures}")
