"""Document routes: plans, services and any registered type share one set of verbs.

`/api/v1/plans[/{id}]` and `/api/v1/services[/{id}]` are the seed's product; the same
semantics answer at `/api/v1/documents/{type}[/{id}]` for every type a client registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.documents.container import documents
from chalicelib.errors import BadRequest, NotFound
from chalicelib.http.etag import CACHE_CONTROL, if_match, not_modified
from chalicelib.http.requests import json_body, parse_json
from chalicelib.http.routing import ApiBlueprint, QueryParam, TaggedAccess, json_response
from chalicelib.merge_patch import MERGE_PATCH
from chalicelib.principal import current_principal

if TYPE_CHECKING:
    from chalicelib.documents.types import Stored

api = ApiBlueprint(__name__)
TAGS = ("documents",)
READ: TaggedAccess = {"auth": "user", "scope": "documents:read", "tags": TAGS}
WRITE: TaggedAccess = {"auth": "user", "scope": "documents:write", "tags": TAGS}
PATCH_TYPES = ("application/json", MERGE_PATCH)
OWNER = QueryParam("owner", {"type": "string"}, "Administrators: another owner's documents (default: your own)")
ITEM_QUERY = (OWNER,)
LIST_QUERY = (
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    QueryParam("offset", {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}),
    QueryParam("cursor", {"type": "string"}, "The `next` value of the previous page"),
    QueryParam("_org", {"type": "string"}, "Only documents of this organisation"),
    OWNER,
)
IF_MATCH_HELP = "Needs `If-Match` with the document's current ETag: 428 without it, 412 when it is stale."


def _query() -> dict[str, str]:
    return api.current_request.query_params or {}


def _int_param(name: str, default: int) -> int:
    raw = _query().get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None


def _location(doc_type: str, doc_id: str) -> str:
    base = {"plan": "/api/v1/plans", "service": "/api/v1/services"}.get(doc_type, f"/api/v1/documents/{doc_type}")
    return f"{base}/{doc_id}"


def _document(stored: Stored, status: int = 200) -> Response:
    headers = {"ETag": stored.etag, "Cache-Control": CACHE_CONTROL}
    if status == 201:
        headers["Location"] = _location(stored.doc_type, stored.doc_id)
    # The stored canonical text is the body: what the ETag hashes is exactly what is sent.
    return Response(body=stored.body, status_code=status, headers={"Content-Type": "application/json", **headers})


def _if_match() -> list[str] | None:
    return if_match(api.current_request.headers.get("if-match"))


def _owner() -> str | None:
    return _query().get("owner")


# -- the shared verbs ---------------------------------------------------------------------


def list_documents(doc_type: str) -> Response:
    page = documents().service.list(
        current_principal(),
        doc_type,
        org=_query().get("_org") or _query().get("org"),
        limit=_int_param("limit", 20),
        offset=_int_param("offset", 0),
        cursor=_query().get("cursor"),
        owner=_owner(),
    )
    return json_response({"items": page.items, "count": len(page.items), "next": page.next_cursor})


def create_document(doc_type: str) -> Response:
    return _document(documents().service.create(current_principal(), doc_type, json_body(api.current_request)), 201)


def get_document(doc_type: str, doc_id: str, fallback: Callable[[], Response] | None = None) -> Response:
    try:
        stored = documents().service.get(current_principal(), doc_type, doc_id, _owner())
    except NotFound:
        if fallback is None:
            raise
        return fallback()
    return not_modified(api.current_request, stored.etag, {"Cache-Control": CACHE_CONTROL}) or _document(stored)


def replace_document(doc_type: str, doc_id: str) -> Response:
    document = json_body(api.current_request)
    stored = documents().service.replace(current_principal(), doc_type, doc_id, document, _if_match(), _owner())
    return _document(stored)


def patch_document(doc_type: str, doc_id: str) -> Response:
    request = api.current_request
    media_type = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    patch = parse_json(request.raw_body)
    stored = documents().service.patch(current_principal(), doc_type, doc_id, patch, media_type, _if_match(), _owner())
    return _document(stored)


def delete_document(doc_type: str, doc_id: str) -> Response:
    documents().service.delete(current_principal(), doc_type, doc_id, _if_match(), _owner())
    return Response(body="", status_code=204)


# -- plans --------------------------------------------------------------------------------

PLAN_ITEM = ("/api/plans/{plan_id}",)


@api.route("/api/v1/plans", summary="List plans", aliases=("/api/plans",), query=LIST_QUERY, **READ)
def list_plans() -> Response:
    return list_documents("plan")


@api.route(
    "/api/v1/plans",
    ("POST",),
    summary="Create a plan",
    description="Validated against the plan schema; every violation is listed with its JSON path.",
    aliases=("/api/plans",),
    request_schema="plan",
    responses={201: "The stored plan (ETag, Location)", 409: "A plan with this objectId exists"},
    **WRITE,
)
def create_plan() -> Response:
    return create_document("plan")


@api.route(
    "/api/v1/plans/search",
    summary="Full-text search over plans",
    description="Plans any of whose objects match `q` (query-string syntax), each with the matching objects.",
    aliases=("/api/plans/search",),
    query=(QueryParam("q", {"type": "string"}, required=True), QueryParam("org", {"type": "string"}), OWNER),
    **READ,
)
def search_plans() -> Response:
    text = (_query().get("q") or "").strip()
    if not text:
        raise BadRequest("q is required")
    owner = current_principal().acting_for(_owner())
    return json_response(documents().search.plans_matching(owner, text, _query().get("org")))


@api.route(
    "/api/v1/plans/{plan_id}",
    summary="Read a plan",
    description="Strong ETag; `If-None-Match` with the current ETag answers 304 without a body.",
    aliases=PLAN_ITEM,
    query=ITEM_QUERY,
    responses={200: "The plan", 304: "Not modified"},
    **READ,
)
def get_plan(plan_id: str) -> Response:
    return get_document("plan", plan_id)


@api.route(
    "/api/v1/plans/{plan_id}",
    ("PUT",),
    summary="Replace a plan",
    description=IF_MATCH_HELP,
    aliases=PLAN_ITEM,
    query=ITEM_QUERY,
    request_schema="plan",
    responses={200: "The new plan", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def replace_plan(plan_id: str) -> Response:
    return replace_document("plan", plan_id)


@api.route(
    "/api/v1/plans/{plan_id}",
    ("PATCH",),
    summary="Merge into a plan",
    description=f"{IF_MATCH_HELP} `application/merge-patch+json` applies RFC 7396; `application/json` merges "
    "objects recursively and arrays of objects by objectId. The result is validated before it is written.",
    aliases=PLAN_ITEM,
    query=ITEM_QUERY,
    content_types=PATCH_TYPES,
    responses={200: "The merged plan", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def patch_plan(plan_id: str) -> Response:
    return patch_document("plan", plan_id)


@api.route(
    "/api/v1/plans/{plan_id}",
    ("DELETE",),
    summary="Delete a plan",
    description="Removes the plan and every object in it from the store and the index. `If-Match` is honoured.",
    aliases=PLAN_ITEM,
    query=ITEM_QUERY,
    responses={204: "Deleted", 412: "Stale ETag"},
    produces=None,
    **WRITE,
)
def delete_plan(plan_id: str) -> Response:
    return delete_document("plan", plan_id)


# -- services -----------------------------------------------------------------------------

SERVICE_ITEM = ("/api/services/{service_id}",)


@api.route("/api/v1/services", summary="List services", aliases=("/api/services",), query=LIST_QUERY, **READ)
def list_services() -> Response:
    return list_documents("service")


@api.route(
    "/api/v1/services",
    ("POST",),
    summary="Create a service",
    aliases=("/api/services",),
    request_schema="service",
    responses={201: "The stored service", 409: "A service with this objectId exists"},
    **WRITE,
)
def create_service() -> Response:
    return create_document("service")


def _embedded_service(service_id: str) -> Response:
    found = documents().search.embedded(current_principal().acting_for(_owner()), "service", service_id)
    if found is None:
        raise NotFound(f"No service {service_id}")
    headers = {"X-Contained-In": _location("plan", found["plan_id"])} if found.get("plan_id") else {}
    return json_response(found["document"], headers=headers)


@api.route(
    "/api/v1/services/{service_id}",
    summary="Read a service",
    description="A standalone service, or one found inside a plan (then read-only; `X-Contained-In` names the plan).",
    aliases=SERVICE_ITEM,
    query=ITEM_QUERY,
    responses={200: "The service", 304: "Not modified"},
    **READ,
)
def get_service(service_id: str) -> Response:
    return get_document("service", service_id, fallback=lambda: _embedded_service(service_id))


@api.route(
    "/api/v1/services/{service_id}",
    ("PUT",),
    summary="Replace a service",
    description=IF_MATCH_HELP,
    aliases=SERVICE_ITEM,
    query=ITEM_QUERY,
    request_schema="service",
    responses={200: "The new service", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def replace_service(service_id: str) -> Response:
    return replace_document("service", service_id)


@api.route(
    "/api/v1/services/{service_id}",
    ("PATCH",),
    summary="Merge into a service",
    description=IF_MATCH_HELP,
    aliases=SERVICE_ITEM,
    query=ITEM_QUERY,
    content_types=PATCH_TYPES,
    responses={200: "The merged service", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def patch_service(service_id: str) -> Response:
    return patch_document("service", service_id)


@api.route(
    "/api/v1/services/{service_id}",
    ("DELETE",),
    summary="Delete a service",
    aliases=SERVICE_ITEM,
    query=ITEM_QUERY,
    responses={204: "Deleted", 412: "Stale ETag"},
    produces=None,
    **WRITE,
)
def delete_service(service_id: str) -> Response:
    return delete_document("service", service_id)


# -- any registered type --------------------------------------------------------------------


@api.route(
    "/api/v1/schemas/{doc_type}",
    ("POST",),
    summary="Register a document type",
    description="An administrator registers a JSON Schema (2020-12); `/api/v1/documents/{type}` then serves "
    "documents of that type with the same CRUD, ETag, If-Match and PATCH semantics as plans.",
    request_schema="schema-registration",
    responses={201: "Registered", 409: "The type exists"},
    auth="admin",
    api_keys=False,
    tags=TAGS,
)
def register_schema(doc_type: str) -> Response:
    registered = documents().service.register_type(current_principal(), doc_type, json_body(api.current_request))
    return json_response(registered, status=201, headers={"Location": f"/api/v1/schemas/{doc_type}"})


@api.route("/api/v1/schemas/{doc_type}", summary="A document type's schema", **READ)
def get_schema(doc_type: str) -> Response:
    return json_response(documents().service.schema_of(doc_type))


@api.route("/api/v1/documents/{doc_type}", summary="List documents of a type", query=LIST_QUERY, **READ)
def list_typed(doc_type: str) -> Response:
    return list_documents(doc_type)


@api.route(
    "/api/v1/documents/{doc_type}",
    ("POST",),
    summary="Create a document",
    description="Validated against the type's registered schema.",
    responses={201: "The stored document", 409: "A document with this objectId exists"},
    **WRITE,
)
def create_typed(doc_type: str) -> Response:
    return create_document(doc_type)


@api.route(
    "/api/v1/documents/{doc_type}/{doc_id}",
    query=ITEM_QUERY,
    summary="Read a document",
    responses={200: "The document", 304: "Not modified"},
    **READ,
)
def get_typed(doc_type: str, doc_id: str) -> Response:
    return get_document(doc_type, doc_id)


@api.route(
    "/api/v1/documents/{doc_type}/{doc_id}",
    ("PUT",),
    query=ITEM_QUERY,
    summary="Replace a document",
    description=IF_MATCH_HELP,
    responses={200: "The new document", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def replace_typed(doc_type: str, doc_id: str) -> Response:
    return replace_document(doc_type, doc_id)


@api.route(
    "/api/v1/documents/{doc_type}/{doc_id}",
    ("PATCH",),
    query=ITEM_QUERY,
    summary="Merge into a document",
    description=IF_MATCH_HELP,
    content_types=PATCH_TYPES,
    responses={200: "The merged document", 412: "Stale ETag", 428: "If-Match missing"},
    **WRITE,
)
def patch_typed(doc_type: str, doc_id: str) -> Response:
    return patch_document(doc_type, doc_id)


@api.route(
    "/api/v1/documents/{doc_type}/{doc_id}",
    ("DELETE",),
    query=ITEM_QUERY,
    summary="Delete a document",
    responses={204: "Deleted", 412: "Stale ETag"},
    produces=None,
    **WRITE,
)
def delete_typed(doc_type: str, doc_id: str) -> Response:
    return delete_document(doc_type, doc_id)


@api.route(
    "/api/v1/search",
    ("POST",),
    summary="Search documents with an OpenSearch query",
    description="A query body restricted to an allow-list (bool, match, match_phrase, multi_match, term(s), "
    "range, wildcard, prefix, query_string, exists, ids, has_child, has_parent, parent_id; aggs terms "
    "(min_doc_count ≥ 1), min, max, avg, sum, date_histogram), `size` ≤ 100, on the index of `type` (default "
    "plan), over your documents only. Parent-child relations are named by the property holding the object: "
    "plan → planCostShares, linkedPlanServices; linkedPlanServices → linkedService, planserviceCostShares. "
    "The answer has OpenSearch's shape with `_id` = objectId and `_routing` = the plan's objectId; hits are "
    "unscored (every `_score` 0: relevance would depend on other owners' documents) and ordered by `sort`, then "
    "by plan and objectId. docs/documents.md says what a body may contain and why.",
    query=(QueryParam("type", {"type": "string", "default": "plan"}), OWNER),
    responses={200: "OpenSearch's response (hits.total, hits.hits[], aggregations)"},
    **READ,
)
def search_documents() -> Response:
    body: Any = json_body(api.current_request)
    owner = current_principal().acting_for(_owner())
    result = documents().search.query(owner, _query().get("type", "plan"), body)
    return json_response(result)
