"""Paging cursors: the one codec behind every list's opaque `cursor` / `next` (DESIGN.md §4).

A cursor is a list's position (a sort key, a search_after tuple, a table key) as unpadded
base64url of compact JSON. It is opaque to clients, not secret: every list still filters by the
caller, so a cursor can only move within what the caller may see. A cursor that does not decode
to a position of the expected shape is refused with one error, whatever the list.

Framework-free (services use it), like chalicelib/errors.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from chalicelib.errors import BadRequest


class InvalidCursor(BadRequest):
    """A cursor this API did not issue (or not for this list)."""

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API issued")


def encode_cursor(position: Any) -> str:
    text = json.dumps(position, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, valid: Callable[[Any], bool]) -> Any:
    """The position `cursor` holds; InvalidCursor if it holds none, or `valid` says it is not
    one of this list's positions."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidCursor() from None
    if not valid(position):
        raise InvalidCursor()
    return position


def is_string(position: Any) -> bool:
    return isinstance(position, str)
