"""A plan as parent-child index documents for an OpenSearch `join` field.

Each object held by a child-relation property becomes its own index document, named after
that property and joined to the object that holds it; all of them are routed to the root,
because a join only works when parent and children live on the same shard.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JOIN_FIELD = "relation"
ROOT_RELATION = "plan"
# Parent relation → the properties whose objects are its children; the index mapping's `relations`.
RELATIONS: dict[str, list[str]] = {
    "plan": ["planCostShares", "linkedPlanServices"],
    "linkedPlanServices": ["linkedService", "planserviceCostShares"],
}


@dataclass(frozen=True)
class IndexDoc:
    id: str
    routing: str
    relation: str
    parent: str | None
    source: dict[str, Any]


def flatten(
    document: Any, root_relation: str = ROOT_RELATION, relations: Mapping[str, Sequence[str]] = RELATIONS
) -> list[IndexDoc]:
    """Every object of the tree as an IndexDoc, root first, then depth-first in document order.

    Raises ValueError, naming the JSON path, when the root is not a `root_relation` object, an
    object under a relation property has no objectId, an objectId repeats, or an object already
    has a member named like the join field.
    """
    if not isinstance(document, dict) or document.get("objectType") != root_relation:
        raise ValueError(f"$: the root must be the {root_relation!r} object itself")
    root_id = _object_id(document, "$")
    docs: list[IndexDoc] = []
    seen: dict[str, str] = {}
    for path, relation, parent, object_id, obj in _walk(document, "$", root_relation, None, relations):
        if object_id in seen:
            # Two index documents with one _id would silently overwrite each other.
            raise ValueError(f"{path}: objectId {object_id!r} already used at {seen[object_id]}")
        seen[object_id] = path
        if JOIN_FIELD in obj:
            raise ValueError(f"{path}.{JOIN_FIELD}: the name is reserved for the join field")
        children = set(relations.get(relation, ()))
        source = {name: copy.deepcopy(value) for name, value in obj.items() if name not in children}
        source[JOIN_FIELD] = {"name": relation} if parent is None else {"name": relation, "parent": parent}
        docs.append(IndexDoc(id=object_id, routing=root_id, relation=relation, parent=parent, source=source))
    return docs


def object_ids(
    document: Any, root_relation: str = ROOT_RELATION, relations: Mapping[str, Sequence[str]] = RELATIONS
) -> set[str]:
    """The ids of every index document `flatten` makes of `document`."""
    return {doc.id for doc in flatten(document, root_relation, relations)}


def _walk(
    obj: dict[str, Any], path: str, relation: str, parent: str | None, relations: Mapping[str, Sequence[str]]
) -> Iterator[tuple[str, str, str | None, str, dict[str, Any]]]:
    object_id = _object_id(obj, path)
    yield path, relation, parent, object_id, obj
    children = relations.get(relation, ())
    for name, value in obj.items():
        if name not in children or value is None:  # a null relation property holds no children
            continue
        items = (
            [(f"{path}.{name}[{i}]", item) for i, item in enumerate(value)]
            if isinstance(value, list)
            else [(f"{path}.{name}", value)]
        )
        for child_path, child in items:
            if not isinstance(child, dict):
                raise ValueError(f"{child_path}: a {name!r} child must be an object with an objectId")
            yield from _walk(child, child_path, name, object_id, relations)


def _object_id(obj: dict[str, Any], path: str) -> str:
    object_id = obj.get("objectId")
    if not isinstance(object_id, str) or not object_id:
        raise ValueError(f"{path}: an object in the tree needs a non-empty string objectId")
    return object_id
