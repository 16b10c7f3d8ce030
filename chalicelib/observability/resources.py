"""Observability's resources (see chalicelib/resources.py): dashboards, alert rules and alert
events in one table; the queue between log ingest and the indexer; the daily log indexes.

Log indexes are daily (`<prefix>-logs-YYYY.MM.DD`, by each event's timestamp) behind one alias
(`<prefix>-logs`), so retention drops whole indexes instead of deleting documents. They come
and go with the days, so they are not SearchIndexSpecs: an index template (below) gives each
one its mapping and the alias when the indexer first writes to it.
"""

from typing import Any

from chalicelib.resources import Index, Key, QueueSpec, TableSpec, declare

OBSERVABILITY_TABLE = TableSpec(
    key="observability",
    hash_key=Key("pk"),
    range_key=Key("sk"),
    # Every alert rule under one key, for the evaluator.
    indexes=(Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),),
    # The hourly mail counts per recipient go away on their own.
    ttl_attribute="expires_at",
)
LOGS_KEY = "logs"

declare(OBSERVABILITY_TABLE, QueueSpec(key=LOGS_KEY, visibility_timeout_s=60, max_receive_count=5))

# Extra fields are mapped on first sight, per daily index: strings as keywords (filterable,
# aggregatable), every number as a double (an int today and a float tomorrow must not clash).
# ignore_malformed keeps an event whose field has another type than the mapping says: the
# event is stored and searchable, that one field is not.
# Every field an event brings is mapped alike, whatever its value, so no owner's events decide
# how another owner's are indexed (chalicelib/observability/fields.py says why and how).
LOG_TEMPLATE: dict[str, Any] = {
    "mappings": {
        "dynamic": True,
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": [
            {
                "event_fields": {
                    "match_mapping_type": "*",
                    "mapping": {
                        "type": "keyword",
                        "ignore_above": 1024,
                        "fields": {"num": {"type": "double", "ignore_malformed": True}},
                    },
                }
            },
        ],
        "properties": {
            "timestamp": {"type": "date"},
            "level": {"type": "keyword"},
            "service": {"type": "keyword"},
            "message": {"type": "text"},
            "owner": {"type": "keyword"},
            "event_id": {"type": "keyword"},
            "ingested_at": {"type": "date"},
            # The event's nested fields as shipped: kept, not indexed (their leaves are).
            "_nested": {"type": "object", "enabled": False},
        },
    },
}
