"""OWASP API Top 10, the parts a test can pin down: authentication on every protected route,
authorization by role, object-level authorization, and nothing secret leaking out."""

from __future__ import annotations

import re

import pytest

from app import app
from chalicelib.http.routing import route_meta
from tests.support.plans import plan


def _routes(predicate):
    found = []
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            meta = route_meta(entry.view_function)
            if meta is not None and predicate(meta):
                concrete = re.sub(r"\{[^}]+\}", "x-probe", path)
                found.append(pytest.param(method, concrete, id=f"{method} {path}"))
    return found


PROTECTED = _routes(lambda meta: meta.auth != "none")
ADMIN_ONLY = _routes(lambda meta: meta.auth == "admin")


def test_the_app_has_protected_and_admin_routes():
    # A guard against the parametrized tests below silently testing nothing.
    assert len(PROTECTED) >= 20 and ADMIN_ONLY


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_route_needs_credentials(api, tally, method, path):
    response = api.request(method, path, json={})
    tally["operations tried"] += 1
    assert response.status_code == 401, (method, path, response.status_code)
    assert response.json()["type"] == "/problems/unauthenticated"


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_a_user_on_an_admin_route_is_forbidden(api, users, tally, method, path):
    response = api.request(method, path, json={}, headers=users["alice"])
    tally["operations tried"] += 1
    assert response.status_code == 403, (method, path, response.status_code)


def test_another_users_objects_are_not_found(api, users, tally):
    alice, bob = users["alice"], users["bob"]
    document = plan()
    created = api.post("/api/v1/plans", json=document, headers=alice)
    key = api.post("/api/v1/api-keys/", json={"name": "alice-key"}, headers=alice).json()
    url = f"/api/v1/plans/{document['objectId']}"
    attempts = [
        ("GET", url, {}),
        ("PUT", url, {"If-Match": created.headers["ETag"]}),
        ("PATCH", url, {"If-Match": created.headers["ETag"]}),
        ("DELETE", url, {}),
        ("POST", f"/api/v1/api-keys/{key['id']}/regenerate/", {}),
        ("DELETE", f"/api/v1/api-keys/{key['id']}/", {}),
    ]
    for method, path, headers in attempts:
        response = api.request(method, path, json=document, headers={**bob, **headers})
        tally["operations tried"] += 1
        assert response.status_code == 404, (method, path, response.status_code)
    assert api.get(url, headers=alice).status_code == 200


def test_no_secret_or_stack_trace_reaches_a_log_line(stack, api, users):
    # Runs last in the package (files run in name order): every request the suite made is logged.
    leaks = re.compile(r"Traceback|\$argon2|BEGIN (RSA )?PRIVATE KEY|tulip orbit lantern|spk_[0-9a-f]{16}_")
    lines = list(stack.lines)
    offending = [n for n, line in enumerate(lines) if leaks.search(line)]
    assert not offending, "\n".join(lines[offending[0] : offending[0] + 25])
    assert len(stack.logs("request")) > 50
