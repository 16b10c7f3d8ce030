"""Every route with a path parameter, enumerated from the app's own route table: an empty
segment answers 404 and a malformed one 400 or 404 — never a 500 (issue 14)."""

from __future__ import annotations

import re

import pytest

import app as application

PARAMETER = re.compile(r"\{(\w+)\}")
# (".." would be resolved away by the client, RFC 3986 dot segments; its encoded form is sent.)
MALFORMED = ["x" * 600, "%00", "%ff%fe", "%2e%2e", "a'b\"c<d>", "%C3%BC", "-1", "9" * 40]


def _routes() -> list[tuple[str, str, str]]:
    return [
        (path, method, name)
        for path, methods in sorted(application.app.routes.items())
        for method in sorted(methods)
        for name in PARAMETER.findall(path)
    ]


def _url(path: str, parameter: str, value: str) -> str:
    url = PARAMETER.sub(lambda m: value if m.group(1) == parameter else "x1", path)
    # A last empty segment needs the trailing slash to stay a segment (`/plans//`).
    return url + "/" if value == "" else url


@pytest.fixture(scope="module")
def admin(users) -> dict[str, str]:
    return {**users["admin"], "Content-Type": "application/json", "If-Match": '"x"'}


def test_the_table_has_routes_with_path_parameters():
    assert len({(path, method) for path, method, _ in _routes()}) > 40


@pytest.mark.parametrize(("path", "method", "parameter"), _routes(), ids=lambda v: str(v))
def test_empty_and_malformed_ids(api, admin, tally, path, method, parameter):
    empty = api.request(method, _url(path, parameter, ""), headers=admin, data=b"{}")
    assert empty.status_code == 404, (method, path, empty.text[:200])
    assert empty.headers["Content-Type"] == "application/problem+json"
    for value in MALFORMED:
        response = api.request(method, _url(path, parameter, value), headers=admin, data=b"{}")
        tally["inputs fuzzed"] += 1
        assert response.status_code in (400, 404), (method, path, value[:20], response.status_code, response.text[:200])
