"""End-to-end: the real app on the local cloud, driven over HTTP like a client would."""

from __future__ import annotations

import pytest
import requests

from tests.support.stack import Stack, start_stack


class Api(requests.Session):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)


ADMIN = {"username": "e2e-admin", "password": "Quartz-meadow-4-violin"}


def start_test_stack(**extra_env: str) -> Stack:
    """A local cloud for tests: cheap password hashing (these tests log in often; the cost
    settings are tested elsewhere; argon2 needs memory >= 8 x parallelism, so 16 KiB is the
    least that works) and the tests' administrator, plus what the caller adds."""
    env = {
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "16",
        "ADMIN_USERNAME": ADMIN["username"],
        "ADMIN_PASSWORD": ADMIN["password"],
    }
    return start_stack({**env, **extra_env})


@pytest.fixture(scope="session")
def stack():
    # Catalog ingestion reads from a local stand-in for dummyjson.com.
    stack = start_test_stack(WEBHOOK_ALLOW_PRIVATE="true")
    yield stack
    stack.stop()


@pytest.fixture
def api(stack):
    with Api(stack.endpoints["api"]) as session:
        yield session
