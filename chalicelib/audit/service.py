"""Recording events into the audit log and reading it back. Framework-free."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from chalicelib.audit.model import AuditRecord, AuditStorage
from chalicelib.errors import BadRequest
from chalicelib.http import paging

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_PAGE = 100


class AuditLog:
    def __init__(self, store: AuditStorage, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def record(self, event: dict[str, Any]) -> bool:
        """Keep one entry per event id, however often the event is delivered; False for a repeat."""
        occurred_at = str(event.get("occurred_at") or "")
        data = event["data"]
        subject = data.get("user_id")
        entry = AuditRecord(
            event_id=event["id"],
            type=event["type"],
            occurred_at=occurred_at,
            correlation_id=event.get("correlation_id"),
            subject=str(subject) if subject is not None else None,
            data=json.dumps(data, sort_keys=True, separators=(",", ":")),
            recorded_at=self.clock(),
            day=occurred_at[:10] if DAY.match(occurred_at[:10]) else time.strftime("%Y-%m-%d", time.gmtime()),
            at_id=f"{occurred_at}#{event['id']}",
        )
        return self.store.record(entry)

    def day(self, day: str | None, type_prefix: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        day = day or time.strftime("%Y-%m-%d", time.gmtime(self.clock()))
        if not DAY.match(day):
            raise BadRequest(f"day must be YYYY-MM-DD, got {day!r}")
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = paging.decode_cursor(cursor, paging.is_string) if cursor else None
        entries, last = self.store.day(day, after, limit, type_prefix)
        items = [entry.to_json() for entry in entries]
        next_cursor = paging.encode_cursor(last) if last else None
        return {"day": day, "items": items, "count": len(items), "next": next_cursor}
