"""The one paging codec (chalicelib/http/paging.py): every list's cursor round-trips, and
anything it did not issue is refused with the same error."""

from __future__ import annotations

import pytest

from chalicelib.errors import BadRequest
from chalicelib.http.paging import InvalidCursor, decode_cursor, encode_cursor, is_string


@pytest.mark.parametrize("position", ["ORDER#1#o", [1893499205000, "e1"], {"task_id": "t", "created_key": "k"}, "ü"])
def test_positions_round_trip_in_url_safe_text(position) -> None:
    cursor = encode_cursor(position)
    assert decode_cursor(cursor, lambda _: True) == position
    assert "=" not in cursor and cursor.isascii() and "/" not in cursor and "+" not in cursor


@pytest.mark.parametrize("cursor", ["", "!!", "bm90IGpzb24", "//79", "é", encode_cursor(["a list"])])
def test_what_the_api_did_not_issue_is_one_error(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as refused:
        decode_cursor(cursor, is_string)
    assert isinstance(refused.value, BadRequest)
    assert refused.value.detail == "The cursor is not one this API issued"
