"""The audit log's resources: a table keyed by event id (so an event recorded twice is one
entry), listed per day newest first through `by-day`, and the queue the bus feeds it."""

from chalicelib.resources import Index, Key, QueueSpec, TableSpec, declare

AUDIT_QUEUE = "audit"

declare(
    TableSpec(key="audit", hash_key=Key("event_id"), indexes=(Index("by-day", Key("day"), Key("at_id")),)),
    QueueSpec(key=AUDIT_QUEUE),
)
