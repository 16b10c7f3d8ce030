"""Merging an `application/json` PATCH body into a stored document, without touching either input
(`application/merge-patch+json` is chalicelib/merge_patch.py)."""

from __future__ import annotations

import copy
from typing import Any


def merge_by_object_id(target: Any, patch: Any) -> Any:
    """The `application/json` PATCH merge: objects merge recursively, arrays of identified objects merge by objectId.

    Patch members override; an array whose items all carry an `objectId` updates the target's items
    with the same objectId in place and appends the others in patch order; any other array (scalars,
    objects without objectId, or empty) replaces. Unlike RFC 7396, `null` sets the member to null
    rather than deleting it: this body is a partial document, so null means the value null, and a
    deletion is spelled with `application/merge-patch+json` instead.
    """
    if isinstance(patch, dict) and isinstance(target, dict):
        result = {
            name: merge_by_object_id(value, patch[name]) if name in patch else copy.deepcopy(value)
            for name, value in target.items()
        }
        result.update({name: copy.deepcopy(value) for name, value in patch.items() if name not in target})
        return result
    if isinstance(patch, list) and isinstance(target, list) and patch and all(map(_has_object_id, patch)):
        return _merge_items(target, patch)
    return copy.deepcopy(patch)


def _has_object_id(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("objectId"), str)


def _merge_items(target: list[Any], patch: list[dict[str, Any]]) -> list[Any]:
    result = [copy.deepcopy(item) for item in target]
    position: dict[str, int] = {}
    for index, item in enumerate(result):
        if _has_object_id(item):
            position.setdefault(item["objectId"], index)
    for item in patch:
        found = position.get(item["objectId"])
        if found is None:
            position[item["objectId"]] = len(result)
            result.append(copy.deepcopy(item))
        else:
            result[found] = merge_by_object_id(result[found], item)
    return result
