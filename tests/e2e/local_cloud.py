"""Package-scoped stack and webhook-receiver fixtures for the e2e packages that need a local cloud
of their own: the shared settings (cheap argon2, the e2e administrator, webhooks allowed to
reach the receiver on loopback) plus each package's extras."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.conftest import start_test_stack
from tests.support.receiver import Receiver, start_receiver
from tests.support.stack import Stack


def stack_fixture(extra_env: dict[str, str]) -> Callable[[], Iterator[Stack]]:
    @pytest.fixture(scope="package")
    def stack() -> Iterator[Stack]:
        stack = start_test_stack(WEBHOOK_ALLOW_PRIVATE="true", **extra_env)
        yield stack
        stack.stop()

    return stack


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    receiver.stop()
