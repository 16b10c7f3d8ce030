"""Hostile bodies get clean 4xx problems, never a 5xx."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def service_with_id(object_id: str) -> bytes:
    return b'{"_org": "example.com", "objectType": "service", "name": "n", "objectId": "%s"}' % object_id.encode()


CASES = [
    pytest.param("/api/v1/plans", b'{"a": "' + b"x" * 2_000_000 + b'"}', JSON, 413, id="oversized"),
    pytest.param("/api/v1/plans", b"[" * 50_000 + b"]" * 50_000, JSON, 400, id="deep-nesting"),
    pytest.param("/api/v1/plans", b'{"objectId": "\xff\xfe"}', JSON, 400, id="invalid-utf8"),
    pytest.param("/api/v1/plans", b"<plan/>", {"Content-Type": "application/xml"}, 415, id="wrong-content-type"),
    pytest.param("/api/v1/plans", b'{"objectId": ', JSON, 400, id="truncated-json"),
    pytest.param("/api/v1/plans", b"null", JSON, 400, id="null-body"),
    pytest.param("/api/v1/plans", b'"just a string"', JSON, 400, id="string-body"),
    pytest.param("/api/v1/search", b'{"query": {"script": {}}}', JSON, 400, id="script-query"),
    pytest.param("/api/v1/users/register/", b'{"username": 1}', JSON, 400, id="wrong-types"),
    pytest.param("/api/auth/login/", b"\x00\x01\x02", JSON, 400, id="binary-garbage"),
    # Valid JSON that used to answer 500 (issue 13, item 11).
    pytest.param("/api/v1/cart/add/", b'{"product_id": 1' + b"0" * 5000 + b"}", JSON, 400, id="int-over-4300-digits"),
    pytest.param(
        "/api/v1/tasks/", b'{"name": "x", "max_attempts": ' + b"9" * 4301 + b"}", JSON, 400, id="int-in-tasks"
    ),
    pytest.param("/api/auth/login/", b'{"username": "\\ud800", "password": "x"}', JSON, 400, id="lone-surrogate-login"),
    pytest.param(
        "/api/users/register/",
        b'{"username": "eve", "email": "e@example.com", "password": "pass\\udfffword12"}',
        JSON,
        400,
        id="lone-surrogate-register",
    ),
    pytest.param("/api/v1/logs/", b"[" * 100_000 + b"]" * 100_000, JSON, 400, id="logs-deep-array"),
    pytest.param("/api/v1/logs/", b"[" + b"1" * 5000 + b"]", JSON, 400, id="logs-long-integer"),
    # objectIds are keys, URL segments and header values: a line break in one is refused.
    pytest.param("/api/v1/services", service_with_id("s\r\nX-Injected: 1"), JSON, 400, id="crlf-object-id"),
    pytest.param("/api/v1/services", service_with_id("s-1\n"), JSON, 400, id="trailing-newline-object-id"),
    pytest.param(
        "/api/v1/search",
        b'{"size": 0, "aggs": {"h": {"date_histogram": {"field": "_updated", "fixed_interval": "1s", '
        b'"min_doc_count": 0, "extended_bounds": {"min": 0, "max": 4102444800000}}}}}',
        JSON,
        400,
        id="histogram-bucket-limit",
    ),
]


@pytest.mark.parametrize(("path", "body", "headers", "status"), CASES)
def test_hostile_bodies_get_a_clean_problem(api, users, tally, path, body, headers, status):
    response = api.post(path, data=body, headers={**users["alice"], **headers})
    tally["inputs fuzzed"] += 1
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == PROBLEM
    assert "Traceback" not in response.text


def test_hostile_query_strings_are_400_not_500(api, users, tally):
    for query in ("limit=abc", "limit=-5", "offset=99999999", "cursor=%00%ff", "limit=1e9"):
        response = api.get(f"/api/v1/plans?{query}", headers=users["alice"])
        tally["inputs fuzzed"] += 1
        assert response.status_code == 400, (query, response.text)


def test_hostile_headers_are_handled(api, users, tally):
    url = "/api/v1/plans/nope"
    for headers in (
        {"If-None-Match": "W/" * 1000},
        {"If-Match": "," * 1000},
        {"X-Request-Id": "x" * 10_000},
        {"Authorization": "Bearer " + "a" * 8000},
        {"X-API-Key": "spk_" + "0" * 16 + "_" + "z" * 200},
    ):
        response = api.get(url, headers={**users["alice"], **headers})
        tally["inputs fuzzed"] += 1
        assert response.status_code < 500, (headers, response.status_code)


def test_deep_or_long_ndjson_lines_are_rejected_events(api, users, tally):
    # (A body starting with "[" is one JSON array, so the deep line is not the first.)
    lines = [b"1" + b"0" * 5000, b"[" * 100_000 + b"]" * 100_000, b'{"message": "\\ud800"}']
    response = api.post(
        "/api/v1/logs/", data=b"\n".join(lines), headers={**users["alice"], "Content-Type": "application/x-ndjson"}
    )
    tally["inputs fuzzed"] += 1
    assert response.status_code == 400, response.text[:300]
    assert {e["path"] for e in response.json()["errors"]} >= {"$[0]", "$[1]", "$[2]"}
