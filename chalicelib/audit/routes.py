"""Reading the audit log: administrators only."""

from __future__ import annotations

from chalice import Response

from chalicelib.audit.container import audit
from chalicelib.errors import BadRequest
from chalicelib.http.routing import ApiBlueprint, QueryParam, json_response

api = ApiBlueprint(__name__)


@api.route(
    "/api/v1/admin/audit",
    summary="The audit log",
    description="One day's user, cart, order, payment and task events (UTC), newest first; `type` keeps the types "
    "starting with it (`order.`). Each event appears once however often it was delivered.",
    query=(
        QueryParam("day", {"type": "string", "format": "date"}, "Default: today"),
        QueryParam("type", {"type": "string"}),
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
        QueryParam("cursor", {"type": "string"}),
    ),
    auth="admin",
    scope="logs:read",
    tags=("audit",),
)
def read_audit_log() -> Response:
    query = api.current_request.query_params or {}
    raw = query.get("limit", "50")
    if not raw.isdigit():
        raise BadRequest(f"limit must be an integer, got {raw!r}")
    page = audit().log.day(query.get("day"), query.get("type"), int(raw), query.get("cursor"))
    return json_response(page)
