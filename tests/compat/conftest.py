"""The seeds' own clients against the local cloud: one stack of its own, started like `make run`."""

from __future__ import annotations

import pytest

from devstack.demo_catalog import products
from tests.compat.curl import Curl
from tests.e2e.conftest import ADMIN, Api, start_test_stack
from tests.e2e.users import login


@pytest.fixture(scope="package")
def stack():
    # The tasks seed schedules a few seconds ahead; retries need not wait long here.
    stack = start_test_stack(TASKS_RETRY_BACKOFF_S="1")
    yield stack
    stack.stop()


@pytest.fixture
def api(stack):
    with Api(stack.endpoints["api"]) as session:
        yield session


@pytest.fixture
def curl(stack):
    """Runs a seed README's curl line against the stack: `$B` is the base URL."""
    with Curl(stack.endpoints["api"]) as runner:
        yield runner


@pytest.fixture(scope="package")
def admin(stack) -> dict[str, str]:
    with Api(stack.endpoints["api"]) as session:
        return login(session, ADMIN["username"], ADMIN["password"])


@pytest.fixture(scope="package")
def catalog(stack, admin):
    """DummyJSON's first ids, as `make ingest SOURCE=https://dummyjson.com/products` leaves them:
    the products by id, as served."""
    with Api(stack.endpoints["api"]) as api:
        report = api.post("/api/v1/admin/ingest", json={"products": products(5)}, headers=admin)
        assert report.status_code == 200, report.text
        stack.settle()
        return {p["id"]: api.get(f"/api/v1/products/{p['id']}") for p in products(5)}
