"""What a new user sees after `make run`: health, errors, docs, the front page."""

from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import urlparse

import pytest

from tests.e2e.users import PASSWORD
from tests.support.stack import wait_for

# HSTS too, but only over TLS (tests/integration/test_local_server.py): this stack is plain HTTP.
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "X-Request-Id",
)


@pytest.mark.parametrize("path", ["/health", "/health/", "/api/v1/health/"])
def test_health_reports_every_component_up(api, path):
    response = api.get(path)
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "healthy"
    assert set(report["checks"]) == {"dynamodb", "sqs", "opensearch", "redis"}
    for name, check in report["checks"].items():
        assert check["status"] == "up", name
        assert check["latency_ms"] >= 0
    assert report["checks"]["opensearch"]["cluster_status"] in ("green", "yellow")
    # The tasks seed's health client reads these booleans.
    assert report["components"] == {"database": True, "redis": True}
    assert report["version"]
    assert report["timestamp"].endswith("Z")
    assert response.headers["Cache-Control"] == "no-store"


def test_liveness_and_readiness(api):
    assert api.get("/health/live").json() == {"status": "alive"}
    ready = api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "healthy"


def test_an_unknown_route_is_a_404_problem_with_the_security_headers(api):
    response = api.get("/api/v1/nothing-here", headers={"X-Request-Id": "e2e-404"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-found"
    assert response.headers["X-Request-Id"] == "e2e-404"
    for header in SECURITY_HEADERS:
        assert header in response.headers
    assert "Strict-Transport-Security" not in response.headers


def test_a_wrong_method_is_a_405_problem(api):
    response = api.delete("/health")
    assert response.status_code == 405
    assert response.json()["type"] == "/problems/method-not-allowed"


def test_the_front_page_links_the_docs(api):
    body = api.get("/").json()
    assert body["links"]["docs"] == "/docs"
    assert body["links"]["openapi"] == "/openapi.json"


def test_openapi_and_swagger_ui_are_served_without_a_cdn(api):
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/health" in document["paths"]
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'src="docs/swagger-ui-bundle.js"' in page.text
    assert "https://" not in page.text
    assert api.get("/docs/swagger-ui-bundle.js").status_code == 200


def test_every_request_is_logged_as_one_json_line(api, stack):
    api.get("/health/live", headers={"X-Request-Id": "e2e-log-line"})
    # The stack's output is read by another thread, so the line can arrive just after the response.
    lines = wait_for(lambda: [entry for entry in stack.logs("request") if entry.get("request_id") == "e2e-log-line"])
    assert len(lines) == 1
    assert lines[0]["route"] == "/health/live" and lines[0]["status"] == 200
    assert lines[0]["latency_ms"] >= 0


def test_a_chunked_body_reaches_the_app_and_the_connection_stays_in_step(stack):
    # What a streaming client sends (curl -H "Transfer-Encoding: chunked", requests with a generator).
    api = urlparse(stack.endpoints["api"])
    name = f"chunked{uuid.uuid4().hex[:8]}"
    body = json.dumps({"username": name, "email": f"{name}@example.com", "password": PASSWORD}).encode()
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/api/v1/users/register/",
            body=iter([body[:7], body[7:]]),
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        registered = connection.getresponse()
        assert registered.status == 201, registered.read()
        assert json.loads(registered.read())["username"] == name
        # The same connection answers the next request, not a 400 for the chunks left unread.
        connection.request("GET", "/health/live")
        live = connection.getresponse()
        assert live.status == 200, live.read()
    finally:
        connection.close()
