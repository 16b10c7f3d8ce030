"""Entity-tag lists and their two comparisons (chalicelib/http/etag.py, RFC 9110 §8.8.3, §13.1)."""

from __future__ import annotations

from chalicelib.http.etag import ANY, EntityTag, entity_tags, if_match, none_match_hits


def test_a_list_is_read_tag_by_tag() -> None:
    assert entity_tags('"a", W/"b",*, "c,d"') == [
        EntityTag('"a"'),
        EntityTag('"b"', weak=True),
        ANY,
        EntityTag('"c,d"'),
    ]
    # What is not an entity tag names nothing and does not hide the tags after it.
    assert entity_tags('abc, "x" junk, , "y"') == [EntityTag('"y"')]
    assert entity_tags("") == []


def test_if_none_match_compares_weakly() -> None:
    assert none_match_hits('W/"x"', '"x"') and none_match_hits('"x"', '"x"') and none_match_hits("*", '"x"')
    assert none_match_hits('"a", W/"x"', '"x"')
    assert not none_match_hits('"y", W/"y"', '"x"') and not none_match_hits(None, '"x"')
    assert not none_match_hits("x", '"x"')


def test_if_match_compares_strongly() -> None:
    assert if_match('W/"x", "y", *') == ['"y"', "*"]
    assert if_match('W/"x"') == [] and if_match(None) is None
