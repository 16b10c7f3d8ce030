"""The console's page and assets. The page is a client of the public API like any other: it signs
in with the token endpoints and reads /api/v1/logs, dashboards and alerts; nothing here reads a
store.

The page carries its own Content-Security-Policy (the middleware keeps the API's strict one on
every other response): scripts and styles only from these routes, requests only to this origin.
"""

from __future__ import annotations

from chalice import Response

from chalicelib.console.bundle import bundle
from chalicelib.errors import NotFound
from chalicelib.http.routing import ApiBlueprint, base_path

api = ApiBlueprint(__name__)
TAGS = ("console",)

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # Revalidated on every load: it names the current asset version.
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONSOLE_CSP,
}
# An asset URL names the hash of every asset, so what it answers never changes.
ASSET_CACHE = "public, max-age=31536000, immutable"


@api.route(
    "/console",
    summary="Web console",
    description="The observability console (logs explorer, dashboards, alerts) for a browser; it signs in with "
    "the token endpoints and calls this API.",
    tags=TAGS,
    produces="text/html",
)
def console_page() -> Response:
    page = bundle().page(base_path(api.current_request.context))
    # A copy: the middleware adds this request's headers (X-Request-Id) to the response's dict.
    return Response(body=page, status_code=200, headers={**PAGE_HEADERS})


@api.route(
    "/console/assets/{version}/{asset}",
    summary="Console asset",
    description="A script, stylesheet or icon of the console page. Cached as immutable: `version` is the hash of "
    "every asset, and any other version is a 404.",
    tags=TAGS,
    produces=None,
    responses={200: "The asset"},
)
def console_asset(version: str, asset: str) -> Response:
    current = bundle()
    found = current.assets.get(asset) if version == current.version else None
    if found is None:
        raise NotFound("No such console asset")
    return Response(
        body=found.body, status_code=200, headers={"Content-Type": found.content_type, "Cache-Control": ASSET_CACHE}
    )
