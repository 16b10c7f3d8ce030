"""Search mappings derived from a document type's JSON Schema, never from the documents.

An index whose mapping grows from what it receives lets the first writer of a field decide its
type for everyone: in a shared index, another tenant's document with another type for that
field is then refused, or searched differently. So every documents index is `dynamic: false`
and maps exactly what the type's schema declares; a field the schema leaves open is kept in
`_source` and not indexed. The schema is the administrator's, so no tenant's data can change
how another tenant's data is indexed.
"""

from __future__ import annotations

from typing import Any

# What OpenSearch's dynamic mapping would pick, fixed in advance: full text with an exact
# `.keyword` beside it, so `match` and `terms`/`sort` (on `.keyword`) both work.
TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
SCALARS: dict[str, dict[str, Any]] = {
    "string": TEXT,
    "integer": {"type": "long"},
    "number": {"type": "double"},
    "boolean": {"type": "boolean"},
}
_PYTHON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def properties_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The `properties` of a mapping for documents valid under `schema` (an object schema)."""
    mapped = _mapping(schema, schema, frozenset())
    properties: dict[str, Any] = (mapped or {}).get("properties", {})
    return properties


def _resolve(node: Any, root: dict[str, Any], seen: frozenset[str]) -> tuple[Any, frozenset[str]]:
    """Follow local `$ref`s ("#/$defs/x"); a remote or cyclic one resolves to nothing."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return None, seen
        seen = seen | {ref}
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node, seen


def _json_type(node: dict[str, Any]) -> str | None:
    declared = node.get("type")
    if isinstance(declared, list):
        types = [kind for kind in declared if kind != "null"]
        declared = types[0] if len(types) == 1 else None
    if isinstance(declared, str):
        return declared
    if "const" in node:
        return _PYTHON_TYPES.get(type(node["const"]))
    if isinstance(node.get("enum"), list) and node["enum"]:
        kinds = {_PYTHON_TYPES.get(type(value)) for value in node["enum"]}
        return kinds.pop() if len(kinds) == 1 else None
    if "properties" in node:
        return "object"
    return None


def _mapping(node: Any, root: dict[str, Any], seen: frozenset[str]) -> dict[str, Any] | None:
    node, seen = _resolve(node, root, seen)
    if not isinstance(node, dict):
        return None
    kind = _json_type(node)
    if kind == "array":
        return _mapping(node.get("items"), root, seen)
    if kind == "object":
        properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
        children = {name: _mapping(sub, root, seen) for name, sub in properties.items()}
        return {"properties": {name: child for name, child in children.items() if child is not None}}
    return SCALARS.get(kind) if kind else None
