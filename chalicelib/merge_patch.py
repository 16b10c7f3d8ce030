"""RFC 7396 JSON Merge Patch (`application/merge-patch+json`), for every resource a PATCH edits."""

from __future__ import annotations

import copy
from typing import Any

MERGE_PATCH = "application/merge-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: null removes a member, any non-object patch (arrays too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    base = target if isinstance(target, dict) else {}
    result: dict[str, Any] = {}
    for name, value in base.items():
        if name not in patch:
            result[name] = copy.deepcopy(value)
        elif patch[name] is not None:
            result[name] = merge_patch(value, patch[name])
    for name, value in patch.items():
        if name not in base and value is not None:
            # Merging into nothing still strips the nulls nested in `value`, as the RFC requires.
            result[name] = merge_patch(None, value)
    return result
