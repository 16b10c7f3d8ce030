"""How a log event's own fields are indexed, so that no owner's events shape another's. Pure.

The daily log indexes are shared by every owner, and their mappings grow with the fields
events bring. Left to OpenSearch, the first event to bring a field fixes its type for everyone
that day: a later `"code": "E42"` is dropped from a field another owner's `"code": 5` made
numeric, and a scalar `"region"` cannot be indexed where another owner's `"region": {...}` made
an object. So every field beyond the platform's own is mapped alike, whatever its value — an
exact `keyword` with a numeric `.num` beside it (chalicelib/observability/resources.py) — and
nested objects are indexed by their leaves, named by the path joined with `_`
(`{"http": {"status": 500}}` is searchable as `http_status:500`, `http_status.num:>=500`). The
event itself is kept as it came, in a part of the document that is stored but not indexed.
"""

from __future__ import annotations

import re
from typing import Any

# Set by the platform or mapped explicitly: indexed as they are.
CORE_FIELDS = ("timestamp", "level", "service", "message", "owner", "event_id", "ingested_at")
# Numeric aggregations on other fields read their numeric side.
NUMERIC_SUFFIX = ".num"
NESTED = "_nested"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Scalar = str | int | float | bool


def _is_scalar(value: Any) -> bool:
    return isinstance(value, Scalar)


def _flat(value: Any) -> bool:
    return _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(item) for item in value))


def _leaves(path: str, value: Any, into: dict[str, list[Scalar]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(f"{path}_{_UNSAFE.sub('_', str(key))}", item, into)
    elif isinstance(value, list):
        for item in value:
            _leaves(path, item, into)
    elif _is_scalar(value):
        into.setdefault(path, []).append(value)


def _derived(event: dict[str, Any]) -> dict[str, list[Scalar]]:
    """The leaves of the event's nested fields, by flattened name; a name the event already
    uses for a field of its own stays that field's."""
    leaves: dict[str, list[Scalar]] = {}
    for name, value in event.items():
        if name not in CORE_FIELDS and not _flat(value):
            _leaves(name, value, leaves)
    return {name: values for name, values in leaves.items() if name not in event}


def index_document(event: dict[str, Any], owner: str) -> dict[str, Any]:
    """The index document of a (checked, normalised) event."""
    document = {name: value for name, value in event.items() if name in CORE_FIELDS or _flat(value)}
    nested = {name: value for name, value in event.items() if name not in document}
    derived = _derived(event)
    for name, values in derived.items():
        document[name] = values[0] if len(values) == 1 else values
    if nested:
        document[NESTED] = {"fields": nested, "derived": sorted(derived)}
    return {**document, "owner": owner}


def event_of(source: dict[str, Any]) -> dict[str, Any]:
    """The event an index document was made of, as it was shipped (without its owner)."""
    container = source.get(NESTED, {})
    derived = set(container.get("derived", ()))
    event = {name: value for name, value in source.items() if name not in (NESTED, "owner") and name not in derived}
    return {**event, **container.get("fields", {})}


def aggregatable(field: str, numeric: bool) -> str:
    """The indexed field a terms (numeric False) or numeric aggregation over `field` reads."""
    if not numeric or field in CORE_FIELDS or field.endswith(NUMERIC_SUFFIX):
        return field
    return field + NUMERIC_SUFFIX
