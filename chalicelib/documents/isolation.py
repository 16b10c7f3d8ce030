"""A checked search body made blind to other owners' documents, and its answer put in the
client's terms.

An owner filter decides which documents are hits; it does not stop the parts of a search that
are computed from the whole index from reaching the answer. So, besides the filter:

- the client's query runs in filter context: scores (and the order and top-k they decide) come
  from index-wide term statistics, so a query that scores would rank your documents
  differently depending on what others store. Hits are ordered by the body's `sort`, then by
  (plan, objectId), and every `_score` is 0;
- multi-term queries expand to every matching term (chalicelib/search.EXHAUSTIVE_REWRITE);
- `ids` and `parent_id` name objectIds, which index ids (owner, root, objectId) are not, so they
  become the equivalent `terms` on objectId and `has_parent`;
- what is computed from outside the hits in aggregations is refused by the guard
  (chalicelib/documents/query_guard.py), and mappings never depend on documents
  (chalicelib/documents/mapping.py).

Answers come back with `_id` = the objectId and `_routing` = the objectId of the stored
document holding it, as before index ids were derived from owners.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.documents.indexer import PARENT_OBJECT_ID
from chalicelib.documents.tree import JOIN_FIELD, RELATIONS
from chalicelib.errors import BadRequest
from chalicelib.search import EXHAUSTIVE_REWRITE

ROOT_FIELD = "_root"
TIEBREAK = ({ROOT_FIELD: "asc"}, {"objectId": "asc"})
IDENTITY_FIELDS = ["objectId", ROOT_FIELD]
# Fields the platform adds to an indexed object; the client never sees them.
INTERNAL_FIELDS = ("_owner", ROOT_FIELD, "_updated", PARENT_OBJECT_ID)
PARENT_OF: dict[str, str] = {child: parent for parent, children in RELATIONS.items() for child in children}


def owner_filter(owner: str) -> dict[str, Any]:
    return {"term": {"_owner": owner}}


def isolate(body: dict[str, Any], owner: str | None) -> dict[str, Any]:
    """`body` (already allow-listed) as it is sent: restricted to `owner`'s documents (all, for
    None), unscored, deterministically ordered, asking for each hit's identity."""
    body = copy.deepcopy(body)
    clauses = [_independent(body.get("query", {"match_all": {}}))]
    if owner is not None:
        clauses.append(owner_filter(owner))
    body["query"] = {"bool": {"filter": clauses}}
    body["sort"] = [*_client_sort(body.get("sort")), *copy.deepcopy(TIEBREAK)]
    body["docvalue_fields"] = IDENTITY_FIELDS
    return body


def _client_sort(sort: Any) -> list[Any]:
    items = [] if sort is None else sort if isinstance(sort, list) else [sort]
    # `_id` is now a digest that says nothing to the client: its order is the objectId's.
    return [_renamed(item, "_id", "objectId") for item in items]


def _renamed(item: Any, old: str, new: str) -> Any:
    if item == old:
        return new
    if isinstance(item, dict) and old in item:
        return {(new if key == old else key): value for key, value in item.items()}
    return item


def _independent(query: dict[str, Any]) -> dict[str, Any]:
    ((clause, spec),) = query.items()
    if clause == "bool":
        return {
            "bool": {
                key: _each(value) if key in ("must", "should", "filter", "must_not") else value
                for key, value in spec.items()
            }
        }
    if clause in ("has_child", "has_parent"):
        independent = {**spec, "query": _independent(spec["query"])}
        if "inner_hits" in spec:
            independent["inner_hits"] = {**spec["inner_hits"], "docvalue_fields": IDENTITY_FIELDS}
        return {clause: independent}
    if clause == "parent_id":
        parent = PARENT_OF.get(spec["type"])
        if parent is None:
            raise BadRequest(f"$.query.parent_id.type: {spec['type']!r} is not a child relation")
        children = {"has_parent": {"parent_type": parent, "query": {"term": {"objectId": spec["id"]}}}}
        return {"bool": {"filter": [{"term": {JOIN_FIELD: spec["type"]}}, children]}}
    if clause == "ids":
        return {"terms": {"objectId": list(spec.get("values", []))}}
    if clause == "query_string":
        return {"query_string": {**spec, **EXHAUSTIVE_REWRITE}}
    if clause in ("match", "multi_match"):
        return {clause: _fuzzy_exhaustive(clause, spec)}
    if clause in ("wildcard", "prefix"):
        return {clause: {field: _with_rewrite(value) for field, value in spec.items()}}
    return query


def _each(value: Any) -> Any:
    return [_independent(item) for item in value] if isinstance(value, list) else _independent(value)


def _fuzzy_exhaustive(clause: str, spec: dict[str, Any]) -> dict[str, Any]:
    rewrite = {"fuzzy_rewrite": EXHAUSTIVE_REWRITE["fuzzy_rewrite"]}
    if clause == "multi_match":
        return {**spec, **rewrite} if "fuzziness" in spec else spec
    return {
        field: {**value, **rewrite} if isinstance(value, dict) and "fuzziness" in value else value
        for field, value in spec.items()
    }


def _with_rewrite(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value, "rewrite": EXHAUSTIVE_REWRITE["rewrite"]}
    if isinstance(value, str):
        return {"value": value, "rewrite": EXHAUSTIVE_REWRITE["rewrite"]}
    return value


# -- answers ---------------------------------------------------------------------------------


def client_view(response: dict[str, Any], client_sorted: bool) -> dict[str, Any]:
    """OpenSearch's answer as the client asked for it: ids are objectIds, internals are gone."""
    hits = response.get("hits", {})
    hits["hits"] = [_hit(hit, client_sorted) for hit in hits.get("hits", [])]
    return response


def _hit(hit: dict[str, Any], client_sorted: bool) -> dict[str, Any]:
    _identify(hit)
    if "sort" in hit:
        if client_sorted:
            hit["sort"] = hit["sort"][: -len(TIEBREAK)]
        else:
            del hit["sort"]
    return hit


def _identify(hit: dict[str, Any]) -> None:
    identity: Mapping[str, list[Any]] = hit.pop("fields", {})
    hit.update(_id=identity.get("objectId", [None])[0], _routing=identity.get(ROOT_FIELD, [None])[0])
    if isinstance(hit.get("_source"), dict):
        hit["_source"] = source_view(hit["_source"])
    for inner in hit.get("inner_hits", {}).values():
        for child in inner.get("hits", {}).get("hits", []):
            _identify(child)


def source_view(source: dict[str, Any]) -> dict[str, Any]:
    """An indexed object as it was stored: its parent link names the parent's objectId."""
    view = {key: value for key, value in source.items() if key not in INTERNAL_FIELDS}
    if PARENT_OBJECT_ID in source and isinstance(view.get(JOIN_FIELD), dict):
        view[JOIN_FIELD] = {**view[JOIN_FIELD], "parent": source[PARENT_OBJECT_ID]}
    return view
