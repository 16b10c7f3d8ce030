"""The observability tests' own local cloud: the API ships its own request logs (the switch under
test), and alert webhooks reach the receiver on loopback."""

from tests.e2e.local_cloud import receiver, stack_fixture

stack = stack_fixture({"LOGS_SHIP_REQUESTS": "true"})

__all__ = ["receiver", "stack"]
