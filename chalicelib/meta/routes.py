from __future__ import annotations

import functools
import json
from importlib.resources.abc import Traversable

from chalice import Response
from swagger_ui_bundle import swagger_ui_path

from chalicelib import __version__
from chalicelib.errors import NotFound
from chalicelib.http.openapi import build_openapi
from chalicelib.http.routing import ApiBlueprint, base_path, json_response

api = ApiBlueprint(__name__)
TAGS = ("meta",)
LINKS = {"docs": "/docs", "openapi": "/openapi.json", "health": "/health"}

JS = "text/javascript; charset=utf-8"
# The Swagger UI files the docs page loads, with their media types; nothing else in the
# package folder is served.
BUNDLED_ASSETS = {
    "swagger-ui-bundle.js": JS,
    "swagger-ui-standalone-preset.js": JS,
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
INIT_SCRIPT = "swagger-init.js"
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400"}

# Scripts only from our own routes, so the page runs no inline or third-party code.
# style-src needs 'unsafe-inline': the standalone preset renders its logo as an SVG with a
# <style> element. img-src needs data: for the icons swagger-ui.css embeds as data URIs.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Relative URLs, so the page also works below a path prefix (an API Gateway stage, a
# custom domain's base path): /api/docs loads /api/docs/... and /api/openapi.json.
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-standalone-preset.js"></script>
<script src="docs/swagger-init.js"></script>
</body>
</html>
"""

# validatorUrl null: the default sends the document to a third-party validator, which the
# CSP would block anyway.
INIT_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
});
"""


@api.route("/", summary="API index", description="Name, version and where to go next.", tags=TAGS)
def index() -> Response:
    return json_response({"name": api.blueprint.current_app.app_name, "version": __version__, "links": LINKS})


@api.route(
    "/openapi.json",
    summary="OpenAPI document",
    description="This API described in OpenAPI 3.1; error responses are RFC 7807 problems.",
    tags=TAGS,
)
def openapi() -> Response:
    return json_response(_openapi_json(base_path(api.current_request.context)))


@api.route(
    "/docs",
    summary="API documentation",
    description="Swagger UI for the OpenAPI document.",
    tags=TAGS,
    produces="text/html",
)
def docs() -> Response:
    return Response(
        body=DOCS_PAGE,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP},
    )


@api.route(
    "/docs/{asset}",
    summary="Documentation asset",
    description="A script, stylesheet or icon the documentation page loads; its Content-Type follows the file.",
    tags=TAGS,
    produces=None,
    responses={200: "The asset"},
)
def docs_asset(asset: str) -> Response:
    body: str | bytes
    if asset == INIT_SCRIPT:
        body, content_type = INIT_JS, JS
    elif asset in BUNDLED_ASSETS:
        body, content_type = _bundled(asset), BUNDLED_ASSETS[asset]
    else:
        raise NotFound("No such documentation asset")
    return Response(body=body, status_code=200, headers={"Content-Type": content_type, **ASSET_HEADERS})


@functools.cache
def _openapi_json(base_path: str) -> str:
    app = api.blueprint.current_app
    # Without servers, clients would send requests to the host's root and miss the prefix.
    document = build_openapi(app.routes, title=app.app_name, version=__version__, server_url=base_path or None)
    return json.dumps(document, separators=(",", ":"))


@functools.cache
def _bundled(name: str) -> str | bytes:
    path: Traversable = swagger_ui_path / name
    # Chalice base64-encodes bytes for binary media types and needs text for the rest.
    return path.read_text(encoding="utf-8") if BUNDLED_ASSETS[name].startswith("text/") else path.read_bytes()
