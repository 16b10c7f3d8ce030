"""The tasks context's composition root: the task service, the dispatcher and the worker over
the tasks table and queue, with the kinds bound to their collaborators.

The kinds' work belongs to other contexts (an index rebuild, ingestion, log retention, an
account's address); those parts come in as `Collaborators` from the application
(chalicelib/composition.py), so this context imports none of them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.clients import Clients, QueueSender
from chalicelib.config import ConfigError, Settings
from chalicelib.roots import Root

# The services import PynamoDB (and botocore): loaded when the context is built, not at cold start.
if TYPE_CHECKING:
    from chalicelib.tasks.kinds import Kind
    from chalicelib.tasks.model import TaskStorage
    from chalicelib.tasks.service import Dispatcher, TaskService, Timing, Worker

# The tasks queue's visibility timeout (chalicelib/tasks/resources.py) is 900 s: a run plus
# its lease grace must end before a message could be delivered again.
MAX_TIME_LIMIT_S = 840


@dataclass(frozen=True)
class Tasks:
    service: TaskService
    dispatcher: Dispatcher
    worker: Worker
    kinds: Mapping[str, Kind]


def timing(settings: Settings) -> Timing:
    from chalicelib.tasks.service import Timing

    if settings.tasks_time_limit_s > MAX_TIME_LIMIT_S:
        raise ConfigError(f"TASKS_TIME_LIMIT_S: must be <= {MAX_TIME_LIMIT_S}, got {settings.tasks_time_limit_s}")
    return Timing(
        max_attempts=settings.tasks_max_attempts,
        retry_backoff_s=settings.tasks_retry_backoff_s,
        time_limit_s=settings.tasks_time_limit_s,
    )


def build(
    settings: Settings,
    clients: Clients,
    *,
    rebuild_index: Callable[[str], dict[str, Any]],
    ingest: Callable[[dict[str, Any]], dict[str, Any]],
    purge_logs: Callable[[int], dict[str, Any]],
    log_summary: Callable[[str, datetime.datetime, datetime.datetime], dict[str, Any]],
    email_of: Callable[[str], str | None],
    store: TaskStorage | None = None,
    send_email: Callable[[str, str, str], str] | None = None,
) -> Tasks:
    from chalicelib import mail
    from chalicelib.dynamo import bind
    from chalicelib.resources import queue_name
    from chalicelib.tasks.kinds import Collaborators, standard_kinds
    from chalicelib.tasks.resources import TASKS_QUEUE, TASKS_TABLE
    from chalicelib.tasks.service import Dispatcher, TaskService, Worker
    from chalicelib.tasks.store import TaskItem, TaskStore

    if store is None:
        bind(TaskItem, TASKS_TABLE, settings)
        store = TaskStore()

    send_task = QueueSender(clients, queue_name(TASKS_QUEUE, settings))

    def send(message: dict[str, str], delay_s: int) -> None:
        send_task(json.dumps(message), delay_s)

    kinds = standard_kinds(
        Collaborators(
            settings=settings,
            rebuild_index=rebuild_index,
            ingest=ingest,
            purge_logs=purge_logs,
            log_summary=log_summary,
            email_of=email_of,
            # The report kind counts the owner's tasks through the service built below.
            task_counts=lambda owner_id, since: service.summary(owner_id, since),
            send_email=send_email or mail.send_email,
        )
    )
    every = timing(settings)
    service = TaskService(store, every, settings, kinds)
    return Tasks(
        service=service,
        dispatcher=Dispatcher(store, send, every),
        worker=Worker(store, send, every, kinds),
        kinds=kinds,
    )


tasks: Root[Tasks] = Root("tasks")
