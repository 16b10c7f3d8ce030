"""Queue messages of log events → bulk actions into the daily indexes, and what to retry.

Each event's document id is derived from its owner and event id, so a message delivered twice
overwrites its own events. A document OpenSearch refuses as such (400) will never be accepted:
it is dropped and logged, not retried. Fields are mapped so that no event's values can clash
with another's (chalicelib/observability/fields.py). Anything else (overload, an outage) fails
the message, and SQS delivers it again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.observability.fields import index_document
from chalicelib.observability.resources import LOG_TEMPLATE

TEMPLATE_TTL_S = 300


def document_id(owner: str, event_id: str) -> str:
    """An event's index document id: derived from its owner too, as every owned object's is."""
    return hashlib.sha256(json.dumps([owner, event_id]).encode()).hexdigest()


def daily_index(alias: str, timestamp: str) -> str:
    """`<alias>-YYYY.MM.DD` of a normalised (UTC) timestamp."""
    return f"{alias}-{timestamp[0:4]}.{timestamp[5:7]}.{timestamp[8:10]}"


def template_body(alias: str) -> dict[str, Any]:
    return {"index_patterns": [f"{alias}-*"], "priority": 100, "template": {**LOG_TEMPLATE, "aliases": {alias: {}}}}


@dataclass
class Planned:
    actions: list[dict[str, Any]] = field(default_factory=list)
    # Document id → the message that carried it.
    message_of: dict[str, str] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)


def plan(alias: str, messages: list[tuple[str, str]]) -> Planned:
    """Bulk actions for (message id, body) pairs; bodies that are not event batches are noted."""
    planned = Planned()
    for message_id, body in messages:
        try:
            batch = json.loads(body)
            owner, events = batch["owner"], batch["events"]
            actions: list[dict[str, Any]] = [
                {
                    "_op_type": "index",
                    "_index": daily_index(alias, event["timestamp"]),
                    "_id": document_id(owner, event["event_id"]),
                    "_source": index_document(event, owner),
                }
                for event in events
            ]
        except (ValueError, KeyError, TypeError):
            planned.malformed.append(message_id)
            continue
        planned.actions += actions
        planned.message_of.update({action["_id"]: message_id for action in actions})
    return planned


@dataclass
class Outcome:
    retry: set[str] = field(default_factory=set)
    dropped: int = 0


def classify(planned: Planned, errors: list[dict[str, Any]]) -> Outcome:
    outcome = Outcome()
    for error in errors:
        detail = next(iter(error.values()))
        if detail.get("status") == 400:
            outcome.dropped += 1
        else:
            outcome.retry.add(planned.message_of.get(detail.get("_id"), ""))
    outcome.retry.discard("")
    return outcome


class TemplateKeeper:
    """Puts the index template at most every few minutes per process: a fresh cluster (or one
    restarted without it) gets it back before the next daily index is created."""

    def __init__(self, put: Callable[[], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._put = put
        self._clock = clock
        self._valid_until = 0.0
        self._lock = threading.Lock()

    def ensure(self) -> None:
        with self._lock:
            if self._clock() < self._valid_until:
                return
            self._put()
            self._valid_until = self._clock() + TEMPLATE_TTL_S
