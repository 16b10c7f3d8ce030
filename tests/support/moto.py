"""AWS in moto's in-process mock, for tests that call handlers directly: fresh resource names,
test credentials, and settings and clients read again on the way in and out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import Settings, get_settings
from devstack.services import free_port


@contextlib.contextmanager
def in_process_aws(monkeypatch: pytest.MonkeyPatch, prefix: str, **env: str) -> Iterator[Settings]:
    from moto import mock_aws

    monkeypatch.setenv("RESOURCE_PREFIX", f"{prefix}{free_port()}")
    for name, value in {**env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    clients.reset()
    try:
        with mock_aws():
            yield get_settings()
    finally:
        get_settings.cache_clear()
        clients.reset()


def queues_and_buses(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every declared queue and bus, as the local bootstrap makes them; the queues' descriptions."""
    from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)
    from devstack import bootstrap

    queues = {key: bootstrap.create_queue(spec, settings) for key, spec in resources.QUEUES.items()}
    for spec in resources.EVENT_BUSES.values():
        bootstrap.create_event_bus(spec, queues, settings)
    return queues
