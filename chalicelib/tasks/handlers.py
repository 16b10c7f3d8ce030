"""The tasks' event handlers: the minute sweeper, the early dispatcher and the outbox on the
table's stream, and the worker on the tasks queue. Each is idempotent: every step is a
conditional write, and every event id is derived from its stream record."""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

from chalice import Blueprint

from chalicelib import batch, events
from chalicelib.batch import Policy
from chalicelib.jsonlog import get_logger
from chalicelib.resources import queue_name, stream_arn
from chalicelib.tasks.container import tasks
from chalicelib.tasks.model import COMPLETED, FAILED
from chalicelib.tasks.resources import TASKS_QUEUE
from chalicelib.tasks.service import iso

handlers = Blueprint(__name__)
log = get_logger("tasks")

WORKER_BATCH = 10
DISPATCH_THREADS = 16
# A task reaching one of these statuses is announced on the bus.
OUTCOME_EVENTS = {COMPLETED: "task.completed", FAILED: "task.failed"}


@handlers.schedule("rate(1 minute)")
def sweep_tasks(event: Any) -> dict[str, int]:
    counts = tasks().dispatcher.sweep(tasks().worker)
    log.info("tasks swept", extra=counts)
    return counts


def _outcome_event(record: Any) -> dict[str, Any] | None:
    new, old = batch.image(record.new_image), batch.image(record.old_image)
    status = new.get("status")
    if record.event_name != "MODIFY" or status not in OUTCOME_EVENTS or old.get("status") == status:
        return None
    data: dict[str, Any] = {
        "task_id": new.get("task_id"),
        "user_id": new.get("owner_id"),
        "name": new.get("name"),
        "kind": new.get("kind"),
        "status": status,
        "attempts": new.get("attempts"),
        "finished_at": iso(new.get("finished_at")),
    }
    if status == COMPLETED:
        result = new.get("result")
        data["result"] = json.loads(result) if result else None
    else:
        data["last_error"] = new.get("last_error")
    event_type = OUTCOME_EVENTS[status]
    return events.envelope(event_type, data, event_id=events.stream_event_id(record.event_id, event_type))


@handlers.on_dynamodb_record(stream_arn=stream_arn("tasks"), batch_size=100, starting_position="TRIM_HORIZON")
def publish_task_outcomes(event: Any) -> dict[str, Any]:
    """The table's stream is the tasks' outbox: a task that completes or fails becomes a
    `task.completed` / `task.failed` event, published at least once even if the worker died
    right after its write."""
    records = list(event)
    outcomes = {record.sequence_number: _outcome_event(record) for record in records}
    announced = [e for e in outcomes.values() if e is not None]
    refused = events.publish_many(announced)
    if refused:
        log.error("could not publish task outcomes", extra={"event_ids": sorted(refused)})
    failed = [seq for seq, e in outcomes.items() if e is not None and e["id"] in refused]
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)


@handlers.on_dynamodb_record(stream_arn=stream_arn("tasks"), batch_size=100, starting_position="TRIM_HORIZON")
def dispatch_new_tasks(event: Any) -> dict[str, Any]:
    """A task inserted due before the next sweep is dispatched now (the sweep would be late).
    Claims are independent of each other, so a batch's are made side by side: a burst of new
    tasks is not queued one SQS round trip after another."""
    records = list(event)
    due = {}
    for record in records:
        image = batch.image(record.new_image)
        if record.event_name != "INSERT" or image.get("status") != "pending":
            continue
        due_at = image.get("due_at")
        if due_at is not None and tasks().dispatcher.due_soon(int(due_at)):
            due[record.sequence_number] = batch.image(record.keys)["task_id"]
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(due), DISPATCH_THREADS) or 1) as pool:
        futures = {sequence: pool.submit(tasks().dispatcher.dispatch, task_id) for sequence, task_id in due.items()}
        for sequence, future in futures.items():
            try:
                future.result()
            except Exception:
                log.exception("early dispatch failed", extra={"task_id": due[sequence]})
                failed.append(sequence)
    # Retried from the first failure; a task already claimed is not claimed twice.
    return batch.report(records, failed, Policy.FROM_FIRST_FAILURE)


def _run(body: str) -> str:
    return tasks().worker.handle(json.loads(body))


@handlers.on_sqs_message(queue=queue_name(TASKS_QUEUE), batch_size=WORKER_BATCH)
def run_tasks(event: Any) -> dict[str, Any]:
    """Runs the batch's tasks side by side: one slow task does not delay the others' start."""
    records = list(event)
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(records) or 1) as pool:
        futures = {pool.submit(_run, record.body): record.to_dict()["messageId"] for record in records}
        for future, message_id in futures.items():
            try:
                outcome = future.result()
            except Exception:
                # Storage or queue trouble: SQS delivers the message again.
                log.exception("task message failed", extra={"message_id": message_id})
                failures.append(message_id)
                continue
            log.info("task message handled", extra={"message_id": message_id, "outcome": outcome})
    return batch.report(records, failures, Policy.MESSAGES)
