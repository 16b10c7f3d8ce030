"""The audit log's resources: a table keyed by event id (so an event recorded twice is one
entry), listed per day newest first through `by-day`, the queue the bus feeds it, and the rule
that feeds it."""

from chalicelib.resources import EventRule, Index, Key, QueueSpec, TableSpec, declare

AUDIT_QUEUE = "audit"
AUDIT_TABLE = TableSpec(key="audit", hash_key=Key("event_id"), indexes=(Index("by-day", Key("day"), Key("at_id")),))

declare(
    AUDIT_TABLE,
    QueueSpec(key=AUDIT_QUEUE),
    EventRule(key="audit-trail", detail_types=("user.", "cart.", "order.", "payment.", "task."), queue=AUDIT_QUEUE),
)
