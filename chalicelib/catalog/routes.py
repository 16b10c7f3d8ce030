"""Catalog routes: public reads and search, administrator writes and ingestion.

The seed's paths (`/api/products/`, `/api/categories/`, `/api/products/search/?q=`) answer
the same as the v1 ones.
"""

from __future__ import annotations

from chalice import Response

from chalicelib.catalog.container import catalog
from chalicelib.catalog.products import Product, parse_product_id
from chalicelib.catalog.search import MAX_LIMIT, SORTS, SearchParams
from chalicelib.errors import BadRequest
from chalicelib.http.etag import not_modified
from chalicelib.http.requests import parse_json, route_body
from chalicelib.http.routing import ApiBlueprint, QueryParam, TaggedAccess, json_response

api = ApiBlueprint(__name__)
TAGS = ("catalog",)
ADMIN: TaggedAccess = {"auth": "admin", "scope": "catalog:write", "tags": TAGS}
PRODUCT_ITEM = ("/api/products/{product_id}",)
FILTERS = (
    QueryParam("category", {"type": "string"}, "Category slug(s), comma-separated"),
    QueryParam("brand", {"type": "string"}, "Brand(s), comma-separated, exact"),
    QueryParam("min_price", {"type": "number", "minimum": 0}),
    QueryParam("max_price", {"type": "number", "minimum": 0}),
    QueryParam("in_stock", {"type": "boolean"}),
    QueryParam("sort", {"type": "string", "enum": list(SORTS)}, "Default: relevance with a query, else id"),
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20}),
    QueryParam("offset", {"type": "integer", "minimum": 0, "default": 0}, "`skip` is accepted too"),
    QueryParam("cursor", {"type": "string"}, "The `next` value of the previous page"),
)
PAGE_HELP = (
    "Answers `items` (products), `count`, `total`, `next` (a cursor for the following page, null at the end) "
    "and `facets`: product counts by category and by brand, and the price range, of everything that matched."
)


def _params() -> SearchParams:
    return SearchParams.parse(api.current_request.query_params or {})


def _product(product: Product, status: int = 200) -> Response:
    headers = {"ETag": product.etag(), "Cache-Control": "no-cache"}
    if status == 201:
        headers["Location"] = f"/api/v1/products/{product.id}"
    return json_response(product.to_json(), status=status, headers=headers)


# -- categories -----------------------------------------------------------------------------


@api.route(
    "/api/v1/categories",
    summary="List categories",
    description="Every category with its slug, name and how many products it has (null while search is down).",
    aliases=("/api/categories", "/api/v1/products/categories", "/api/products/categories"),
    tags=TAGS,
)
def list_categories() -> Response:
    categories = catalog().service.categories()
    return json_response({"items": categories, "count": len(categories)})


@api.route(
    "/api/v1/categories",
    ("POST",),
    summary="Create a category",
    aliases=("/api/categories",),
    request_schema="category-create",
    responses={201: "The category", 409: "The slug exists"},
    **ADMIN,
)
def create_category() -> Response:
    category = catalog().service.create_category(route_body(api.current_request))
    return json_response(category, status=201, headers={"Location": f"/api/v1/categories/{category['slug']}"})


@api.route(
    "/api/v1/categories/{slug}",
    ("PUT",),
    summary="Rename a category",
    aliases=("/api/categories/{slug}",),
    request_schema="category-update",
    responses={200: "The category"},
    **ADMIN,
)
def rename_category(slug: str) -> Response:
    return json_response(catalog().service.rename_category(slug, route_body(api.current_request)))


@api.route(
    "/api/v1/categories/{slug}",
    ("DELETE",),
    summary="Delete a category",
    description="Only an empty category can go: 409 while products are in it.",
    aliases=("/api/categories/{slug}",),
    responses={204: "Deleted", 409: "The category has products"},
    produces=None,
    **ADMIN,
)
def delete_category(slug: str) -> Response:
    catalog().service.delete_category(slug)
    return Response(body="", status_code=204)


# -- products -------------------------------------------------------------------------------


@api.route(
    "/api/v1/products",
    summary="List products",
    description=f"Filtered, sorted and paged. {PAGE_HELP}",
    aliases=("/api/products",),
    query=FILTERS,
    responses={200: "A page of products", 503: "Search is unavailable"},
    tags=TAGS,
)
def list_products() -> Response:
    return json_response(catalog().service.search(_params()))


@api.route(
    "/api/v1/products/search",
    summary="Search products",
    description="Relevance over title, brand, category, tags and description. Words may carry one typo "
    "(`iphnoe` finds iPhone); with `use_wildcard=true` each word is a pattern (`lapt*`, `*phone*`) and a bare "
    f"word matches inside words. {PAGE_HELP}",
    aliases=("/api/products/search",),
    query=(
        QueryParam("query", {"type": "string", "maxLength": 200}, "`q` is accepted too", required=True),
        QueryParam("use_wildcard", {"type": "boolean", "default": False}),
        *FILTERS,
    ),
    responses={200: "A page of products", 503: "Search is unavailable"},
    tags=TAGS,
)
def search_products() -> Response:
    params = _params()
    if not params.query:
        raise BadRequest("query (or q) is required")
    return json_response(catalog().service.search(params))


@api.route(
    "/api/v1/products/{product_id}",
    summary="Read a product",
    description="Strong `ETag`; `If-None-Match` with it answers 304.",
    aliases=PRODUCT_ITEM,
    responses={200: "The product", 304: "Not modified"},
    tags=TAGS,
)
def get_product(product_id: str) -> Response:
    product = catalog().service.product(parse_product_id(product_id))
    return not_modified(api.current_request, product.etag(), {"Cache-Control": "no-cache"}) or _product(product)


@api.route(
    "/api/v1/products",
    ("POST",),
    summary="Create a product",
    description="The category must exist. Without an `id` one is generated.",
    aliases=("/api/products",),
    request_schema="product",
    responses={201: "The product", 409: "The id is taken"},
    **ADMIN,
)
def create_product() -> Response:
    return _product(catalog().service.create_product(route_body(api.current_request)), 201)


@api.route(
    "/api/v1/products/{product_id}",
    ("PUT",),
    summary="Replace a product",
    aliases=PRODUCT_ITEM,
    request_schema="product",
    responses={200: "The product"},
    **ADMIN,
)
def replace_product(product_id: str) -> Response:
    data = route_body(api.current_request)
    return _product(catalog().service.replace_product(parse_product_id(product_id), data))


@api.route(
    "/api/v1/products/{product_id}",
    ("PATCH",),
    summary="Update a product",
    description="RFC 7396 merge patch (`null` removes a field); the result is validated as a product.",
    aliases=PRODUCT_ITEM,
    content_types=("application/json", "application/merge-patch+json"),
    responses={200: "The product", 409: "The product kept changing; retry"},
    **ADMIN,
)
def patch_product(product_id: str) -> Response:
    patch = parse_json(api.current_request.raw_body)
    return _product(catalog().service.patch_product(parse_product_id(product_id), patch))


@api.route(
    "/api/v1/products/{product_id}",
    ("DELETE",),
    summary="Delete a product",
    description="It leaves the catalog and the index; orders that hold it keep their snapshot.",
    aliases=PRODUCT_ITEM,
    responses={204: "Deleted"},
    produces=None,
    **ADMIN,
)
def delete_product(product_id: str) -> Response:
    catalog().service.delete_product(parse_product_id(product_id))
    return Response(body="", status_code=204)


@api.route(
    "/api/v1/admin/ingest",
    ("POST",),
    summary="Ingest products",
    description="From a DummyJSON-compatible URL (read page by page with limit/skip, pages cached on disk by "
    "URL) or from the products in the body. Upserts by source id: running it twice changes nothing the second "
    "time. Bad records are reported in `skipped`, not fatal.",
    request_schema="ingest-request",
    responses={200: "The report: received, created, updated, unchanged, indexed, skipped, timings"},
    **ADMIN,
)
def ingest() -> Response:
    return json_response(catalog().service.ingest(route_body(api.current_request)))
