"""End-to-end: the real app on the local cloud, driven over HTTP like a client would."""

from __future__ import annotations

import pytest
import requests

from tests.support.stack import start_stack


class Api(requests.Session):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)


ADMIN = {"username": "e2e-admin", "password": "Quartz-meadow-4-violin"}


@pytest.fixture(scope="session")
def stack():
    # Cheap password hashing: these tests log in often; the cost settings are tested elsewhere.
    stack = start_stack(
        {
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "16",
            "ADMIN_USERNAME": ADMIN["username"],
            "ADMIN_PASSWORD": ADMIN["password"],
            # Catalog ingestion reads from a local stand-in for dummyjson.com.
            "WEBHOOK_ALLOW_PRIVATE": "true",
        }
    )
    yield stack
    stack.stop()


@pytest.fixture
def api(stack):
    with Api(stack.endpoints["api"]) as session:
        yield session
