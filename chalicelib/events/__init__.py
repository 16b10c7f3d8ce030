"""Domain events: one envelope, published to the events queue and the event bus.

Envelope: {"id", "type", "occurred_at", "correlation_id", "data"}. Consumers read the SQS
queue (`@app.on_sqs_message`); the EventBridge bus fans the same events out to rules.
Publishers that derive events from a stream record pass a deterministic id, so a redelivered
record republishes the *same* event and idempotent consumers see it once.
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from typing import Any

from chalicelib import clients
from chalicelib.config import get_settings
from chalicelib.jsonlog import request_id_var
from chalicelib.resources import queue_name

SOURCE = "serverless-platform"


def envelope(
    event_type: str, data: dict[str, Any], event_id: str | None = None, correlation_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "correlation_id": correlation_id or request_id_var.get() or str(uuid.uuid4()),
        "data": data,
    }


SQS_BATCH = 10
EVENTBRIDGE_BATCH = 10


@functools.cache
def _queue_url(name: str) -> str:
    return clients.aws("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def _body(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), default=str)


def publish(event: dict[str, Any]) -> None:
    """Send one event to the queue and the bus; raises if either refuses it."""
    failed = publish_many([event])
    if failed:
        raise RuntimeError(f"could not publish {event['type']} {event['id']}")


def publish_many(batch: list[dict[str, Any]]) -> set[str]:
    """Send events to the queue and the bus in batches; the ids of those either refused."""
    if not batch:
        return set()
    settings = get_settings()
    failed: set[str] = set()
    sqs, bus = clients.aws("sqs"), clients.aws("events")
    queue_url = _queue_url(queue_name("events"))
    for start in range(0, len(batch), SQS_BATCH):
        chunk = batch[start : start + SQS_BATCH]
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(n),
                    "MessageBody": _body(event),
                    "MessageAttributes": {"type": {"DataType": "String", "StringValue": event["type"]}},
                }
                for n, event in enumerate(chunk)
            ],
        )
        failed |= {chunk[int(entry["Id"])]["id"] for entry in response.get("Failed", [])}
    for start in range(0, len(batch), EVENTBRIDGE_BATCH):
        chunk = batch[start : start + EVENTBRIDGE_BATCH]
        response = bus.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": event["type"],
                    "Detail": _body(event),
                    "EventBusName": settings.resource_name("events"),
                }
                for event in chunk
            ]
        )
        # Entries answer in request order; a failed one carries an ErrorCode.
        failed |= {event["id"] for event, entry in zip(chunk, response["Entries"], strict=True) if "ErrorCode" in entry}
    return failed


def stream_event_id(record_event_id: str, event_type: str) -> str:
    """A stable event id for an event derived from one stream record."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_type}/{record_event_id}"))
