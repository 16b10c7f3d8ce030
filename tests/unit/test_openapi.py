"""The OpenAPI builder against a small app, and the real app's /openapi.json, /docs and / routes."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

import pytest
from chalice import Chalice
from chalice.test import Client
from openapi_spec_validator import validate

from app import app as real_app
from chalicelib import __version__, schemas
from chalicelib.http.errors import PROBLEM_CONTENT_TYPE
from chalicelib.http.openapi import build_openapi
from chalicelib.http.routing import ApiBlueprint, QueryParam, json_response

WIDGET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.test/schemas/widget",
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "parts": {"type": "array", "items": {"$ref": "#/$defs/Part"}},
        "spare": {"$ref": "#"},
    },
    "$defs": {"Part": {"type": "object", "properties": {"sku": {"type": "string"}}}},
}


def _small_app() -> Chalice:
    widgets = ApiBlueprint("widgets")

    @widgets.route(
        "/widgets",
        ("POST",),
        summary="Create a widget",
        tags=("widgets",),
        aliases=("/api/v1/widgets",),
        request_schema="widget",
        responses={201: "Created", 409: "A widget with that name exists"},
    )
    def create_widget() -> Any:
        return json_response({"created": True}, status=201)

    @widgets.route(
        "/widgets",
        summary="List widgets",
        tags=("widgets",),
        query=(QueryParam("limit", {"type": "integer", "minimum": 1}, "Page size"), QueryParam("cursor", {})),
    )
    def list_widgets() -> Any:
        return json_response([])

    @widgets.route("/widgets/{widget_id}", summary="Read a widget", description="One widget.")
    def get_widget(widget_id: str) -> Any:
        return json_response({"id": widget_id})

    @widgets.route(
        "/widgets/{widget_id}", ("DELETE",), summary="Delete a widget", produces=None, responses={204: "Gone"}
    )
    def delete_widget(widget_id: str) -> Any:
        return json_response(None, status=204)

    # Same view name in another context, and one view answering two methods.
    gadgets = ApiBlueprint("gadgets")

    @gadgets.route("/gadgets/{gadget_id}", ("GET", "PUT"), summary="Read or replace a gadget")
    def get_widget(gadget_id: str) -> Any:  # noqa: F811
        return json_response({"id": gadget_id})

    app = Chalice(app_name="widgets")
    app.register_blueprint(widgets.blueprint)
    app.register_blueprint(gadgets.blueprint)

    @app.route("/undocumented")
    def undocumented() -> Any:
        return {}

    return app


@pytest.fixture
def small_app(monkeypatch: pytest.MonkeyPatch) -> Chalice:
    real_load = schemas.load
    monkeypatch.setattr(schemas, "load", lambda name: WIDGET_SCHEMA if name == "widget" else real_load(name))
    return _small_app()


@pytest.fixture
def document(small_app: Chalice) -> dict[str, Any]:
    return build_openapi(small_app.routes, title="Widgets", version="1.2.3", server_url="https://api.example.test")


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for item in document["paths"].values() for operation in item.values()]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _local_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _local_refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _local_refs(item)]
    return []


# -- the builder ------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Widgets", "version": "1.2.3"}
    assert document["servers"] == [{"url": "https://api.example.test"}]


def test_servers_are_left_out_without_a_url(small_app: Chalice) -> None:
    assert "servers" not in build_openapi(small_app.routes, title="Widgets", version="1")


def test_only_canonical_routes_with_metadata_are_documented(document: dict[str, Any]) -> None:
    assert sorted(document["paths"]) == ["/gadgets/{gadget_id}", "/widgets", "/widgets/{widget_id}"]


def test_hidden_aliases_still_answer(small_app: Chalice) -> None:
    with Client(small_app) as client:
        response = client.http.post("/api/v1/widgets", headers={"content-type": "application/json"}, body=b"{}")
    assert response.status_code == 201


def test_operation_ids_are_unique_and_derived_from_view_and_method(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/widgets"]["post"]["operationId"] == "create_widget_post"
    gadget = document["paths"]["/gadgets/{gadget_id}"]
    assert gadget["put"]["operationId"] == "get_widget_put"
    # Two views named get_widget answer GET; the second one seen gets a suffix.
    assert {gadget["get"]["operationId"], document["paths"]["/widgets/{widget_id}"]["get"]["operationId"]} == {
        "get_widget_get",
        "get_widget_get_2",
    }


def test_summary_description_and_tags(document: dict[str, Any]) -> None:
    create = document["paths"]["/widgets"]["post"]
    read = document["paths"]["/widgets/{widget_id}"]["get"]
    assert (create["summary"], create["tags"]) == ("Create a widget", ["widgets"])
    assert "description" not in create
    assert (read["summary"], read["description"]) == ("Read a widget", "One widget.")
    assert document["tags"] == [{"name": "widgets"}]


def test_path_and_query_parameters(document: dict[str, Any]) -> None:
    assert document["paths"]["/widgets/{widget_id}"]["get"]["parameters"] == [
        {"name": "widget_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    assert document["paths"]["/widgets"]["get"]["parameters"] == [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "Page size",
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {}},
    ]
    assert "parameters" not in document["paths"]["/widgets"]["post"]


def test_request_schema_is_a_component_referenced_from_the_body(document: dict[str, Any]) -> None:
    body = document["paths"]["/widgets"]["post"]["requestBody"]
    # A widget's only required field is a string, so forms may write one too.
    media_types = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    assert body == {
        "required": True,
        "content": {media_type: {"schema": {"$ref": "#/components/schemas/widget"}} for media_type in media_types},
    }
    component = document["components"]["schemas"]["widget"]
    assert "$schema" not in component and "$id" not in component
    assert component["$defs"] == WIDGET_SCHEMA["$defs"]
    # Local references now point inside the component, where the definitions went.
    assert component["properties"]["parts"]["items"] == {"$ref": "#/components/schemas/widget/$defs/Part"}
    assert component["properties"]["spare"] == {"$ref": "#/components/schemas/widget"}
    assert WIDGET_SCHEMA["properties"]["spare"] == {"$ref": "#"}, "the loaded schema must not be modified"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _local_refs(document)
    assert refs
    for ref in refs:
        assert _resolve(document, ref), ref


def test_declared_responses_carry_the_media_type_they_produce(document: dict[str, Any]) -> None:
    create = document["paths"]["/widgets"]["post"]["responses"]
    assert create["201"] == {"description": "Created", "content": {"application/json": {}}}
    assert create["409"]["content"] == {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert document["paths"]["/widgets/{widget_id}"]["delete"]["responses"]["204"] == {"description": "Gone"}


def test_shared_error_responses_where_a_route_can_produce_them(document: dict[str, Any]) -> None:
    def statuses(path: str, method: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert statuses("/widgets", "post") == {"201", "400", "409", "413", "415", "500"}
    assert statuses("/widgets", "get") == {"200", "400", "500"}
    assert statuses("/widgets/{widget_id}", "get") == {"200", "404", "500"}
    responses = document["paths"]["/widgets/{widget_id}"]["get"]["responses"]
    assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
    shared = document["components"]["responses"]
    assert set(shared) == {"BadRequest", "NotFound", "PayloadTooLarge", "UnsupportedMediaType", "InternalError"}
    for response in shared.values():
        assert response["content"] == {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_problem_schema_describes_problem_bodies(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "request_id", "errors"}
    assert _resolve(document, problem["properties"]["errors"]["items"]["$ref"])["required"] == ["path", "message"]
    schemas.validate(
        "problem",
        {
            "type": "/problems/validation-failed",
            "title": "Validation failed",
            "status": 400,
            "detail": "1 validation error(s)",
            "errors": [{"path": "$.name", "message": "'name' is a required property"}],
        },
    )


# -- the real app ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Any:
    with Client(real_app) as test_client:
        yield test_client.http


@pytest.fixture(scope="module")
def published(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json_body


def test_published_document_is_valid_openapi_3_1(published: dict[str, Any]) -> None:
    validate(published)
    assert published["openapi"] == "3.1.0"
    assert published["info"]["title"] == real_app.app_name
    assert "servers" not in published


def test_published_document_hides_aliases(published: dict[str, Any]) -> None:
    assert {"/", "/openapi.json", "/docs", "/docs/{asset}", "/health", "/health/ready"} <= set(published["paths"])
    aliases = {"/api/v1/health", "/api/v1/health/ready", "/api/users/register", "/api/auth/login", "/api/users/token"}
    assert not aliases & set(published["paths"])
    assert {"/api/v1/users/register", "/api/v1/auth/token"} <= set(published["paths"])


def test_protected_operations_declare_their_security(published: dict[str, Any]) -> None:
    profile = published["paths"]["/api/v1/users/profile"]["get"]
    assert profile["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert "401" in profile["responses"]
    keys = published["paths"]["/api/v1/api-keys"]["post"]
    assert keys["security"] == [{"bearerAuth": []}]
    assert "security" not in published["paths"]["/api/v1/auth/token"]["post"]
    assert set(published["components"]["securitySchemes"]) == {"bearerAuth", "apiKey"}


def test_published_operation_ids_are_unique(published: dict[str, Any]) -> None:
    ids = [operation["operationId"] for operation in _operations(published)]
    assert len(ids) == len(set(ids))


def test_published_request_schemas_are_component_refs(published: dict[str, Any]) -> None:
    for operation in _operations(published):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            ref = media["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/")
            assert _resolve(published, ref)
    for ref in _local_refs(published):
        assert _resolve(published, ref), ref


def test_published_document_names_the_mount_prefix_as_server() -> None:
    # API Gateway's own URL puts the stage in the path: /api/openapi.json reaches /openapi.json.
    event = {
        "requestContext": {"httpMethod": "GET", "resourcePath": "/openapi.json", "path": "/api/openapi.json"},
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
    }
    response = real_app(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["servers"] == [{"url": "/api"}]


def test_docs_page_loads_swagger_ui_from_our_own_routes(client: Any) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.body.decode("utf-8")
    scripts = [urljoin("/docs", src) for src in re.findall(r'<script src="([^"]+)"', page)]
    assert "/docs/swagger-ui-bundle.js" in scripts
    assert "/docs/swagger-init.js" in scripts
    assert "<script>" not in page, "inline scripts would need 'unsafe-inline'"
    for src in scripts:
        assert client.get(src).status_code == 200, src


def test_docs_page_has_a_strict_csp_of_its_own(client: Any) -> None:
    directives = dict(
        part.strip().split(" ", 1) for part in client.get("/docs").headers["Content-Security-Policy"].split(";")
    )
    assert "'unsafe-eval'" not in " ".join(directives.values())
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_init_script_points_swagger_ui_at_our_document(client: Any) -> None:
    script = client.get("/docs/swagger-init.js").body.decode("utf-8")
    assert 'url: "openapi.json"' in script
    assert "validatorUrl: null" in script


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8"),
        ("swagger-init.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
    ],
)
def test_docs_assets_are_served_cacheable(client: Any, asset: str, content_type: str) -> None:
    response = client.get(f"/docs/{asset}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.body


def test_favicon_is_served_as_binary(client: Any) -> None:
    # Chalice sends a binary type only to a client whose Accept header admits it.
    response = client.get("/docs/favicon-32x32.png", headers={"accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.body.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("asset", ["nope", "index.html", "swagger-ui-bundle.js.map", "..%2Fapp.py"])
def test_unknown_docs_asset_is_a_404_problem(client: Any, asset: str) -> None:
    response = client.get(f"/docs/{asset}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json_body
    assert (body["type"], body["status"]) == ("/problems/not-found", 404)
    schemas.validate("problem", body)


def test_index_lists_links(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json_body == {
        "name": real_app.app_name,
        "version": __version__,
        "links": {"docs": "/docs", "openapi": "/openapi.json", "health": "/health"},
    }
