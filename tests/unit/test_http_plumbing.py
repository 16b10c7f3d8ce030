"""The HTTP plumbing every route shares: problems, headers, body limits, request ids, logs."""

from __future__ import annotations

import json
import logging

import pytest
from chalice import BadRequestError, Chalice
from chalice.test import Client

from chalicelib import errors
from chalicelib.config import Settings, get_settings
from chalicelib.http.middleware import SECURITY_HEADERS, http_middleware
from chalicelib.http.requests import json_body
from chalicelib.http.routing import ApiBlueprint, QueryParam, json_response, route_meta

PROBLEM = "application/problem+json"


def build_app() -> Chalice:
    api = ApiBlueprint(__name__)

    @api.route("/things", methods=("POST",), summary="Create a thing", request_schema="problem", aliases=("/legacy",))
    def create_thing():
        body = json_body(api.current_request)
        return json_response({"received": body}, status=201)

    @api.route("/things/{thing_id}", summary="Read", query=(QueryParam("q", {"type": "string"}),))
    def read_thing(thing_id):
        if thing_id == "missing":
            raise errors.NotFound(f"No thing {thing_id}")
        if thing_id == "slow-down":
            raise errors.TooManyRequests("Wait", retry_after_s=7)
        if thing_id == "invalid":
            raise errors.ValidationFailed([errors.FieldError("$.name", "'name' is a required property")])
        if thing_id == "boom":
            raise RuntimeError("secret-token-123 leaked in a message")
        if thing_id == "chalice-error":
            raise BadRequestError("chalice says no")
        return json_response({"id": thing_id})

    app = Chalice(app_name="plumbing")
    app.register_middleware(http_middleware, "http")
    app.register_blueprint(api.blueprint)
    return app


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "64")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://shop.example,https://admin.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def http():
    with Client(build_app()) as client:
        yield client.http


def problem(response) -> dict:
    assert response.headers["Content-Type"] == PROBLEM
    body = json.loads(response.body)
    assert body["status"] == response.status_code
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    return body


def test_every_response_carries_the_security_headers_and_a_request_id(http):
    for response in (http.get("/things/1"), http.get("/things/missing"), http.get("/things/boom")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert len(response.headers["X-Request-Id"]) == 32


def test_hsts_is_sent_unless_the_request_came_over_plain_http(http):
    # API Gateway is HTTPS-only and says so; only the local server answers plain HTTP, and says so.
    assert "Strict-Transport-Security" in http.get("/things/1", headers={"X-Forwarded-Proto": "https"}).headers
    plain = http.get("/things/missing", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    assert plain.headers["X-Content-Type-Options"] == "nosniff"


def test_a_sane_incoming_request_id_is_echoed_and_a_hostile_one_replaced(http):
    assert http.get("/things/1", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    replaced = http.get("/things/1", headers={"X-Request-Id": "evil\r\nSet-Cookie: x"}).headers["X-Request-Id"]
    assert replaced != "evil" and len(replaced) == 32


def test_cors_echoes_only_an_allowed_origin(http):
    allowed = http.get("/things/1", headers={"Origin": "https://shop.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert allowed.headers["Vary"] == "Origin"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    denied = http.get("/things/1", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_malformed_json_is_a_400_problem_that_says_where(http):
    body = problem(http.post("/things", headers={"Content-Type": "application/json"}, body=b'{"a": 1,'))
    assert body["status"] == 400
    assert "Malformed JSON" in body["detail"] and "line 1" in body["detail"]


def test_invalid_utf8_and_empty_bodies_are_400(http):
    assert problem(http.post("/things", headers={"Content-Type": "application/json"}, body=b'{"a": "\xff"}'))[
        "detail"
    ].startswith("The body is not valid UTF-8")
    assert problem(http.post("/things", headers={"Content-Type": "application/json"}, body=b""))["status"] == 400


def test_deep_nesting_is_a_clean_400(http, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "1000000")
    get_settings.cache_clear()
    deep = b"[" * 100_000 + b"]" * 100_000
    assert problem(http.post("/things", headers={"Content-Type": "application/json"}, body=deep))["status"] == 400


def test_wrong_content_type_is_415(http):
    response = http.post("/things", headers={"Content-Type": "text/plain"}, body=b"hello")
    assert response.status_code == 415
    assert problem(response)["type"] == "/problems/unsupported-media-type"


def test_body_over_the_limit_is_413(http):
    response = http.post("/things", headers={"Content-Type": "application/json"}, body=b'{"a": "' + b"x" * 100 + b'"}')
    assert response.status_code == 413
    assert "limit is 64" in problem(response)["detail"]


def test_wrong_method_is_405_with_allow(http):
    response = http.delete("/things/1")
    assert response.status_code == 405
    assert problem(response)["type"] == "/problems/method-not-allowed"
    assert response.headers["Allow"] == "GET"


def test_domain_errors_map_to_their_statuses(http):
    assert problem(http.get("/things/missing")) == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No thing missing",
    }
    throttled = http.get("/things/slow-down")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    invalid = problem(http.get("/things/invalid"))
    assert invalid["errors"] == [{"path": "$.name", "message": "'name' is a required property"}]


def test_chalice_errors_become_problems(http):
    body = problem(http.get("/things/chalice-error"))
    assert body["status"] == 400 and body["detail"] == "chalice says no"


def test_an_unexpected_exception_is_a_500_with_request_id_and_no_internals(http, caplog):
    with caplog.at_level(logging.INFO):
        response = http.get("/things/boom", headers={"X-Request-Id": "req-42"})
    body = problem(response)
    assert body["status"] == 500
    assert body["request_id"] == "req-42"
    assert "secret-token" not in response.body.decode() and "Traceback" not in response.body.decode()
    errors_logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors_logged and errors_logged[0].exc_info is not None


def test_one_json_log_line_per_request(http, caplog):
    with caplog.at_level(logging.INFO, logger="http"):
        http.get("/things/7", headers={"X-Request-Id": "log-me"})
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.route, line.status) == ("GET", "/things/{thing_id}", 200)
    assert line.latency_ms >= 0


def test_aliases_answer_like_the_canonical_path_and_are_marked(http):
    app = build_app()
    assert http.post("/legacy", headers={"Content-Type": "application/json"}, body=b"{}").status_code == 201
    canonical = route_meta(app.routes["/things"]["POST"].view_function)
    alias = route_meta(app.routes["/legacy"]["POST"].view_function)
    assert canonical.canonical and not alias.canonical
    assert canonical.request_schema == "problem"


def test_settings_are_read_once_into_a_typed_object():
    settings = get_settings()
    assert isinstance(settings, Settings)
    assert settings.max_body_bytes == 64
    assert get_settings() is settings


def test_a_protected_route_admits_only_the_callers_its_declaration_does():
    """Who the caller is comes from the authenticator the blueprint is mounted with; what the
    caller may do is the route's declaration (auth, scope, api_keys), checked by the routing."""
    from chalicelib.principal import Principal, current_principal

    api = ApiBlueprint("guarded")

    @api.route("/mine", summary="Mine", auth="user", scope="orders:read")
    def mine():
        return json_response({"user": current_principal().user_id})

    @api.route("/people", summary="People only", auth="user", api_keys=False)
    def people():
        return json_response({})

    @api.route("/admin", summary="Admin", auth="admin")
    def admin():
        return json_response({})

    callers = {
        "person": Principal("p1", "person", ("user",), via="jwt"),
        "key": Principal("k1", "key", ("user",), via="api_key", scopes=frozenset({"orders:read"})),
        "narrow": Principal("n1", "narrow", ("user",), via="api_key", scopes=frozenset({"logs:read"})),
    }

    def authenticate(request) -> Principal:
        who = request.headers.get("x-who", "")
        if who not in callers:
            raise errors.Unauthenticated("Who are you?")
        return callers[who]

    app = Chalice(app_name="guarded")
    app.register_blueprint(api.mount(authenticate))
    with Client(app) as client:

        def status(path: str, who: str) -> int:
            return client.http.get(path, headers={"X-Who": who}).status_code

        assert json.loads(client.http.get("/mine", headers={"X-Who": "key"}).body) == {"user": "k1"}
        assert [status("/mine", who) for who in ("person", "key", "narrow", "nobody")] == [200, 200, 403, 401]
        assert [status("/people", who) for who in ("person", "key")] == [200, 403]
        assert status("/admin", "person") == 403


def test_a_protected_route_on_a_blueprint_never_mounted_fails_closed():
    api = ApiBlueprint("unmounted")

    @api.route("/mine", summary="Mine", auth="user")
    def mine():
        return json_response({})

    app = Chalice(app_name="unmounted")
    app.register_blueprint(api.blueprint)
    with Client(app) as client:
        assert client.http.get("/mine").status_code == 500
