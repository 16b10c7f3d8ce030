"""Builds the tasks services from settings, once per process and on first use."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from chalicelib import clients
from chalicelib.config import ConfigError, get_settings
from chalicelib.resources import queue_name

# The services import PynamoDB (and botocore): loaded on first use, not at cold start.
if TYPE_CHECKING:
    from chalicelib.tasks.service import Dispatcher, TaskService, Timing, Worker
    from chalicelib.tasks.store import TaskStore

# The tasks queue's visibility timeout (chalicelib/tasks/resources.py) is 900 s: a run plus
# its lease grace must end before a message could be delivered again.
MAX_TIME_LIMIT_S = 840


@functools.cache
def timing() -> Timing:
    from chalicelib.tasks.service import Timing

    settings = get_settings()
    if settings.tasks_time_limit_s > MAX_TIME_LIMIT_S:
        raise ConfigError(f"TASKS_TIME_LIMIT_S: must be <= {MAX_TIME_LIMIT_S}, got {settings.tasks_time_limit_s}")
    return Timing(
        max_attempts=settings.tasks_max_attempts,
        retry_backoff_s=settings.tasks_retry_backoff_s,
        time_limit_s=settings.tasks_time_limit_s,
    )


@functools.cache
def _queue_url() -> str:
    return clients.aws("sqs").get_queue_url(QueueName=queue_name("tasks"))["QueueUrl"]


def send_to_queue(message: dict[str, str], delay_s: int) -> None:
    clients.aws("sqs").send_message(QueueUrl=_queue_url(), MessageBody=json.dumps(message), DelaySeconds=delay_s)


@functools.cache
def _store() -> TaskStore:
    from chalicelib.tasks.store import TaskStore

    return TaskStore()


@functools.cache
def task_service() -> TaskService:
    from chalicelib.tasks.service import TaskService

    return TaskService(_store(), timing(), get_settings())


@functools.cache
def dispatcher() -> Dispatcher:
    from chalicelib.tasks.service import Dispatcher

    return Dispatcher(_store(), send_to_queue, timing())


@functools.cache
def worker() -> Worker:
    from chalicelib.tasks.service import Worker

    return Worker(_store(), send_to_queue, timing())
