"""Fixtures shared by the integration tests that run the commerce services in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import clients, composition
from chalicelib.config import get_settings
from devstack.services import MotoService, free_port


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    service = MotoService()
    service.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", service.url)
    monkeypatch.setenv("RESOURCE_PREFIX", f"race{free_port()}")
    # Nothing listens there: the cart cache degrades to DynamoDB, as with Redis down.
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    get_settings.cache_clear()
    clients.reset()
    from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
    from devstack import bootstrap

    settings = get_settings()
    # The accounts table too: an order looks up its owner's address.
    for key in ("catalog", "orders", "identity"):
        bootstrap.create_table(resources.TABLES[key], settings)
    composition.wire(settings)
    yield service.url
    service.stop()
    composition.wire()
    get_settings.cache_clear()
    clients.reset()
