"""The OpenAPI 3.1 document, built from the route table and the metadata each route carries.

Request schemas come from the same files the validator reads, so the document describes
what is enforced. Errors are described once, as shared problem responses, and each
operation lists those it can actually produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import schemas
from chalicelib.http.errors import PROBLEM_CONTENT_TYPE
from chalicelib.http.routing import QueryParam, RouteMeta, route_meta

if TYPE_CHECKING:
    from chalice.app import RouteEntry

OPENAPI_VERSION = "3.1.0"
PROBLEM_SCHEMA = "Problem"
PROBLEM_CONTENT = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}}

# Status -> (component name, description) for the error responses several routes share.
SHARED_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is malformed or fails validation"),
    401: ("Unauthenticated", "No valid credentials (a bearer token or an API key)"),
    403: ("Forbidden", "The caller may not do this (role or API-key scope)"),
    429: ("TooManyRequests", "Throttled; Retry-After says when to try again"),
    404: ("NotFound", "No such resource"),
    413: ("PayloadTooLarge", "The body is over the size limit"),
    415: ("UnsupportedMediaType", "The body's Content-Type is not accepted"),
    500: ("InternalError", "Unexpected error; the problem carries a request id to report"),
}

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/auth/login/, or an ID token of a configured OIDC issuer",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key (scoped)"},
}

# Statuses whose responses never have a body, whatever the route produces otherwise.
NO_BODY = {204, 205}


def build_openapi(
    routes: Mapping[str, Mapping[str, RouteEntry]],
    *,
    title: str,
    version: str,
    server_url: str | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document for the canonical routes in a Chalice `app.routes` table."""
    paths: dict[str, dict[str, Any]] = {}
    request_schemas: set[str] = set()
    shared: set[int] = set()
    tags: set[str] = set()
    operation_ids: set[str] = set()
    for path in sorted(routes):
        for method in sorted(routes[path]):
            entry = routes[path][method]
            meta = route_meta(entry.view_function)
            if meta is None or not meta.canonical:
                continue
            operation_id = _unique(f"{entry.view_name}_{method.lower()}", operation_ids)
            operation, errors = _operation(entry, meta, operation_id)
            paths.setdefault(path, {})[method.lower()] = operation
            if meta.request_schema is not None:
                request_schemas.add(meta.request_schema)
            shared.update(errors)
            tags.update(meta.tags)

    component_schemas = {name: _embed(schemas.load(name), name) for name in sorted(request_schemas)}
    component_schemas[PROBLEM_SCHEMA] = _embed(schemas.load("problem"), PROBLEM_SCHEMA)
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": {"title": title, "version": version}}
    if server_url is not None:
        document["servers"] = [{"url": server_url}]
    if tags:
        document["tags"] = [{"name": tag} for tag in sorted(tags)]
    document["paths"] = paths
    document["components"] = {
        "securitySchemes": SECURITY_SCHEMES,
        "schemas": component_schemas,
        "responses": {
            SHARED_ERRORS[status][0]: {"description": SHARED_ERRORS[status][1], "content": PROBLEM_CONTENT}
            for status in sorted(shared)
        },
    }
    return document


def _operation(entry: RouteEntry, meta: RouteMeta, operation_id: str) -> tuple[dict[str, Any], set[int]]:
    """The operation object, and the shared error statuses it references."""
    operation: dict[str, Any] = {"operationId": operation_id, "summary": meta.summary}
    if meta.tags:
        operation["tags"] = list(meta.tags)
    if meta.description:
        operation["description"] = meta.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in entry.view_args
    ]
    parameters += [_query_parameter(param) for param in meta.query]
    if parameters:
        operation["parameters"] = parameters
    if meta.request_schema is not None:
        ref = {"$ref": f"#/components/schemas/{meta.request_schema}"}
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": ref} for media_type in meta.content_types},
        }

    responses = {
        str(status): _declared_response(status, text, meta.produces) for status, text in meta.responses.items()
    }
    errors = {500}
    if meta.auth != "none":
        operation["security"] = [{"bearerAuth": []}, *([{"apiKey": []}] if meta.api_keys else [])]
        errors.add(401)
        if meta.auth == "admin" or meta.scope or not meta.api_keys:
            errors.add(403)
    if meta.request_schema is not None:
        errors |= {400, 413, 415}
    if meta.query:
        errors.add(400)
    if entry.view_args:
        errors.add(404)
    errors -= set(meta.responses)
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{SHARED_ERRORS[status][0]}"}
    operation["responses"] = dict(sorted(responses.items()))
    return operation, errors


def _query_parameter(param: QueryParam) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": param.name, "in": "query", "required": param.required, "schema": param.schema}
    if param.description:
        parameter["description"] = param.description
    return parameter


def _declared_response(status: int, description: str, produces: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if 200 <= status < 300 and status not in NO_BODY and produces is not None:
        response["content"] = {produces: {}}
    elif 400 <= status < 500:
        # Every 4xx this API sends comes from a DomainError or Chalice, and both become problems.
        response["content"] = PROBLEM_CONTENT
    return response


def _unique(candidate: str, taken: set[str]) -> str:
    name, suffix = candidate, 2
    while name in taken:
        name, suffix = f"{candidate}_{suffix}", suffix + 1
    taken.add(name)
    return name


def _embed(schema: dict[str, Any], component: str) -> dict[str, Any]:
    """The schema as it must read at #/components/schemas/<component>.

    Without its $id the schema is no longer a resource of its own, so a local reference
    such as "#/$defs/Item" would resolve against the OpenAPI document's root; rewriting it
    to point inside the component keeps it resolvable by any tool.
    """
    body = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    embedded: dict[str, Any] = _rebase(body, f"#/components/schemas/{component}")
    return embedded


def _rebase(node: Any, pointer: str) -> Any:
    if isinstance(node, dict):
        return {
            key: pointer + value[1:] if key == "$ref" and _is_local(value) else _rebase(value, pointer)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item, pointer) for item in node]
    return node


def _is_local(ref: Any) -> bool:
    return isinstance(ref, str) and (ref == "#" or ref.startswith("#/"))
