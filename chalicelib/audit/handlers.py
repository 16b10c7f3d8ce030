"""The audit consumer: the bus forwards user, cart, order and payment events to its queue; each
becomes one entry, keyed by event id, so a redelivered event changes nothing."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.audit.container import audit
from chalicelib.audit.resources import AUDIT_QUEUE
from chalicelib.events.delivery import consume
from chalicelib.resources import queue_name

handlers = Blueprint(__name__)


@handlers.on_sqs_message(queue=queue_name(AUDIT_QUEUE), batch_size=10)
def record_audit_events(event: Any) -> dict[str, Any]:
    return consume(event, audit().log.record, "audit")
