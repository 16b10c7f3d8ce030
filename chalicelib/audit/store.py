"""The audit table (PynamoDB): one item per event, written only if absent."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.dynamo import condition_failed, table_meta


class ByDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)


class AuditEntry(Model):
    Meta = table_meta("audit")

    event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    correlation_id = UnicodeAttribute(null=True)
    # Whom the event is about, when its data says (a user id).
    subject = UnicodeAttribute(null=True)
    data = UnicodeAttribute()
    recorded_at = NumberAttribute()
    day = UnicodeAttribute()
    at_id = UnicodeAttribute()
    by_day = ByDay()

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "subject": self.subject,
            "data": json.loads(self.data),
        }


class AuditStore:
    def record(self, entry: AuditEntry) -> bool:
        """Keep the entry unless its event is already kept; False for a repeat."""
        try:
            entry.save(condition=AuditEntry.event_id.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def day(
        self, day: str, after: str | None, limit: int, type_prefix: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        """A day's entries, newest first, from after the sort key `after`; the next page's start."""
        start = None
        if after:
            start = {"day": {"S": day}, "at_id": {"S": after}, "event_id": {"S": after.rsplit("#", 1)[-1]}}
        results = AuditEntry.by_day.query(
            day,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            filter_condition=AuditEntry.type.startswith(type_prefix) if type_prefix else None,
        )
        entries = list(results)
        last = results.last_evaluated_key
        return entries, (last["at_id"]["S"] if last else None)
