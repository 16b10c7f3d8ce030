"""One entry of the audit log, as the service and the routes speak of it, and the storage the
service needs (chalicelib/audit/store.py is it over DynamoDB). Storage-free."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditRecord:
    event_id: str
    type: str
    occurred_at: str
    correlation_id: str | None
    # Whom the event is about, when its data says (a user id).
    subject: str | None
    # The event's data as canonical JSON.
    data: str
    recorded_at: float
    # The UTC day it is listed under, and its sort key within the day.
    day: str
    at_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "subject": self.subject,
            "data": json.loads(self.data),
        }


class AuditStorage(Protocol):
    def record(self, entry: AuditRecord) -> bool:
        """Keep the entry unless its event is already kept; False for a repeat."""

    def day(
        self, day: str, after: str | None, limit: int, type_prefix: str | None
    ) -> tuple[list[AuditRecord], str | None]:
        """A day's entries, newest first, from after the sort key `after`; the next page's start."""
