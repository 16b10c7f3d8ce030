"""The task tests' own local cloud: retries back off from 1 s, so a task exhausts its attempts
in seconds; webhooks reach the receiver on loopback."""

from tests.e2e.local_cloud import receiver, stack_fixture

stack = stack_fixture({"TASKS_RETRY_BACKOFF_S": "1"})

__all__ = ["receiver", "stack"]
