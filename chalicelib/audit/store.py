"""The audit table (PynamoDB): one item per event, written only if absent."""

from __future__ import annotations

import dataclasses

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.audit.model import AuditRecord
from chalicelib.dynamo import condition_failed, unbound_meta


class ByDay(GlobalSecondaryIndex["AuditEntry"]):
    class Meta:
        index_name = "by-day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)


class AuditEntry(Model):
    Meta = unbound_meta()

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

    def record(self) -> AuditRecord:
        return AuditRecord(
            self.event_id,
            self.type,
            self.occurred_at,
            self.correlation_id,
            self.subject,
            self.data,
            float(self.recorded_at),
            self.day,
            self.at_id,
        )


class AuditStore:
    def record(self, entry: AuditRecord) -> bool:
        """Keep the entry unless its event is already kept; False for a repeat."""
        try:
            AuditEntry(**dataclasses.asdict(entry)).save(condition=AuditEntry.event_id.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def day(
        self, day: str, after: str | None, limit: int, type_prefix: str | None
    ) -> tuple[list[AuditRecord], str | None]:
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
        entries = [item.record() for item in results]
        last = results.last_evaluated_key
        return entries, (last["at_id"]["S"] if last else None)
