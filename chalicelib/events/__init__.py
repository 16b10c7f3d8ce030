"""Domain events: one envelope, published to the EventBridge bus.

Envelope: {"id", "type", "occurred_at", "correlation_id", "data"}, the `detail` of the bus's
event (its `detail-type` is the envelope's type). The bus's rules (chalicelib/resources.py)
forward events to each consumer's own queue; in the local cloud one more rule forwards every
event to the `events` tap queue that `make events` reads (devstack/events.py). Publishers that
derive events from a stream record pass a deterministic id, so a redelivered record
republishes the *same* event and idempotent consumers see it once.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from chalicelib import clients
from chalicelib.config import get_settings
from chalicelib.jsonlog import request_id_var

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


EVENTBRIDGE_BATCH = 10


def _body(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), default=str)


def publish(event: dict[str, Any]) -> None:
    """Send one event to the bus; raises if it refuses it."""
    failed = publish_many([event])
    if failed:
        raise RuntimeError(f"could not publish {event['type']} {event['id']}")


def publish_many(batch: list[dict[str, Any]]) -> set[str]:
    """Send events to the bus in batches; the ids of those it refused."""
    if not batch:
        return set()
    settings = get_settings()
    failed: set[str] = set()
    bus = clients.aws("events")
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
