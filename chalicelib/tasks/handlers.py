"""The tasks' event handlers: the minute sweeper, the early dispatcher and the outbox on the
table's stream, and the worker on the tasks queue. Each is idempotent: every step is a
conditional write, and every event id is derived from its stream record."""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

from chalice import Blueprint

from chalicelib import events
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


def _number(image: dict[str, Any], name: str) -> int | None:
    value = image.get(name)
    return int(value["N"]) if isinstance(value, dict) and "N" in value else None


def _string(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _outcome_event(record: Any) -> dict[str, Any] | None:
    new, old = record.new_image or {}, record.old_image or {}
    status = _string(new, "status")
    if record.event_name != "MODIFY" or status not in OUTCOME_EVENTS or _string(old, "status") == status:
        return None
    data: dict[str, Any] = {
        "task_id": _string(new, "task_id"),
        "user_id": _string(new, "owner_id"),
        "name": _string(new, "name"),
        "kind": _string(new, "kind"),
        "status": status,
        "attempts": _number(new, "attempts"),
        "finished_at": iso(_number(new, "finished_at")),
    }
    if status == COMPLETED:
        result = _string(new, "result")
        data["result"] = json.loads(result) if result else None
    else:
        data["last_error"] = _string(new, "last_error")
    event_type = OUTCOME_EVENTS[status]
    return events.envelope(event_type, data, event_id=events.stream_event_id(record.event_id, event_type))


@handlers.on_dynamodb_record(stream_arn=stream_arn("tasks"), batch_size=100, starting_position="TRIM_HORIZON")
def publish_task_outcomes(event: Any) -> dict[str, Any]:
    """The table's stream is the tasks' outbox: a task that completes or fails becomes a
    `task.completed` / `task.failed` event, published at least once even if the worker died
    right after its write."""
    records = list(event)
    outcomes = {record.sequence_number: _outcome_event(record) for record in records}
    batch = [e for e in outcomes.values() if e is not None]
    refused = events.publish_many(batch)
    if refused:
        log.error("could not publish task outcomes", extra={"event_ids": sorted(refused)})
    # Stream semantics: retried from the first record whose event was refused.
    first = next((seq for seq, e in outcomes.items() if e is not None and e["id"] in refused), None)
    return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}


@handlers.on_dynamodb_record(stream_arn=stream_arn("tasks"), batch_size=100, starting_position="TRIM_HORIZON")
def dispatch_new_tasks(event: Any) -> dict[str, Any]:
    """A task inserted due before the next sweep is dispatched now (the sweep would be late).
    Claims are independent of each other, so a batch's are made side by side: a burst of new
    tasks is not queued one SQS round trip after another."""
    records = list(event)
    due = {}
    for record in records:
        image = record.new_image or {}
        if record.event_name != "INSERT" or image.get("status", {}).get("S") != "pending":
            continue
        due_at = _number(image, "due_at")
        if due_at is not None and tasks().dispatcher.due_soon(due_at):
            due[record.sequence_number] = record.keys["task_id"]["S"]
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(due), DISPATCH_THREADS) or 1) as pool:
        futures = {sequence: pool.submit(tasks().dispatcher.dispatch, task_id) for sequence, task_id in due.items()}
        for sequence, future in futures.items():
            try:
                future.result()
            except Exception:
                log.exception("early dispatch failed", extra={"task_id": due[sequence]})
                failed.append(sequence)
    # Stream semantics: retried from the first failure; a task already claimed is not claimed twice.
    first = next((r.sequence_number for r in records if r.sequence_number in failed), None)
    return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}


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
                failures.append({"itemIdentifier": message_id})
                continue
            log.info("task message handled", extra={"message_id": message_id, "outcome": outcome})
    return {"batchItemFailures": failures}
