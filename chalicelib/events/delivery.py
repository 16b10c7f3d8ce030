"""The consumer side of domain events: envelopes out of SQS messages, one message at a time.

A consumer's queue is fed by an EventBridge rule (the message is EventBridge's event, the
envelope in its `detail`) or, for the platform's own `events` queue, by `publish` directly
(the message is the envelope). Delivery is at least once: handlers must be idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib import batch
from chalicelib.batch import Policy

ENVELOPE_FIELDS = ("id", "type", "data")


def envelope_of(body: str) -> dict[str, Any]:
    """The domain-event envelope in an SQS message body; ValueError if there is none."""
    message = json.loads(body)
    if isinstance(message, dict) and isinstance(message.get("detail"), dict) and "detail-type" in message:
        message = message["detail"]
    if not isinstance(message, dict) or any(name not in message for name in ENVELOPE_FIELDS):
        raise ValueError("the message holds no domain-event envelope")
    if not isinstance(message["data"], dict):
        raise ValueError("the envelope's data is not an object")
    return message


def consume(
    records: Iterable[batch.Message], handle: Callable[[dict[str, Any]], object], consumer: str
) -> dict[str, Any]:
    """Hand each message's envelope to `handle`; the messages that failed, as Lambda's partial
    batch response, so only those are redelivered (and, after the queue's receive limit, parked
    in its dead-letter queue)."""
    return batch.each(
        records,
        lambda record: handle(envelope_of(record.body)),
        Policy.MESSAGES,
        "event not handled",
        {"consumer": consumer},
    )
