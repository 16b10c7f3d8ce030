"""Mappings that no document can change: documents from their type's schema, log fields alike."""

from __future__ import annotations

from chalicelib import schemas
from chalicelib.documents.mapping import TEXT, properties_of
from chalicelib.documents.resources import registered_type_index
from chalicelib.observability import fields
from chalicelib.resources import SEARCH_INDEXES


def _leaves(schema: dict, node: dict | None = None) -> set[str]:
    """Every scalar property name anywhere in a schema (following local $refs)."""
    node = schema if node is None else node
    if "$ref" in node:
        return _leaves(schema, schema["$defs"][node["$ref"].split("/")[-1]])
    names: set[str] = set()
    for name, sub in node.get("properties", {}).items():
        target = schema["$defs"][sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
        if target.get("type") == "array":
            target = target["items"]
        if "$ref" in target or target.get("type") == "object":
            names |= _leaves(schema, target)
        else:
            names.add(name)
    return names


def test_every_documents_index_is_static():
    for key, spec in SEARCH_INDEXES.items():
        if key.startswith("documents-"):
            assert spec.mappings["dynamic"] is False, key


def test_every_scalar_of_the_plan_schema_is_mapped():
    mapped = SEARCH_INDEXES["documents-plan"].mappings["properties"]
    assert _leaves(schemas.load("plan")) <= set(mapped)
    assert _leaves(schemas.load("service")) <= set(SEARCH_INDEXES["documents-service"].mappings["properties"])


def test_a_registered_type_maps_what_its_schema_declares():
    schema = {
        "type": "object",
        "$defs": {"money": {"type": "number"}},
        "properties": {
            "objectId": {"type": "string"},
            "name": {"type": "string"},
            "beds": {"type": "integer"},
            "open": {"type": "boolean"},
            "fee": {"$ref": "#/$defs/money"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            "kind": {"enum": ["a", "b"]},
            "either": {"type": ["string", "number"]},
            "nullable": {"type": ["integer", "null"]},
            "anything": {},
            "cycle": {"$ref": "#/properties/cycle"},
        },
    }
    assert properties_of(schema) == {
        "objectId": TEXT,
        "name": TEXT,
        "beds": {"type": "long"},
        "open": {"type": "boolean"},
        "fee": {"type": "double"},
        "tags": TEXT,
        "address": {"properties": {"city": TEXT}},
        "kind": TEXT,
        "nullable": {"type": "long"},
    }
    mapped = registered_type_index("clinic", schema).mappings
    assert mapped["dynamic"] is False
    # The platform's fields win: objectId is exact, _owner is there whatever the schema says.
    assert mapped["properties"]["objectId"] == {"type": "keyword"}
    assert mapped["properties"]["_owner"] == {"type": "keyword"}


def test_a_log_events_nested_fields_are_indexed_by_their_leaves_and_answered_as_shipped():
    event = {
        "timestamp": "2030-01-01T00:00:00.000Z",
        "level": "info",
        "service": "api",
        "message": "m",
        "event_id": "e1",
        "code": 5,
        "tags": ["a", "b"],
        "http": {"status": 500, "headers": {"x.y": "z"}, "spans": [{"ms": 1}, {"ms": 2}]},
        "http_status": "mine",
    }
    document = fields.index_document(event, "o1")
    assert document["owner"] == "o1"
    assert document["code"] == 5 and document["tags"] == ["a", "b"]
    assert document["http_headers_x_y"] == "z" and document["http_spans_ms"] == [1, 2]
    # A name the event uses itself stays its own field.
    assert document["http_status"] == "mine"
    assert "http" not in document and document["_nested"]["fields"] == {"http": event["http"]}
    assert fields.event_of(document) == event


def test_numeric_aggregations_read_the_numeric_side_of_event_fields():
    assert fields.aggregatable("latency_ms", numeric=True) == "latency_ms.num"
    assert fields.aggregatable("latency_ms", numeric=False) == "latency_ms"
    assert fields.aggregatable("timestamp", numeric=True) == "timestamp"
    assert fields.aggregatable("latency_ms.num", numeric=True) == "latency_ms.num"
