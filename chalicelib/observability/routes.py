"""Observability routes: log ingest and search, dashboards, alert rules and their events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib.errors import BadRequest
from chalicelib.http import pages
from chalicelib.http.etag import json_with_etag
from chalicelib.http.requests import route_body
from chalicelib.http.routing import Access, ApiBlueprint, QueryParam, json_response
from chalicelib.observability.container import observability
from chalicelib.principal import current_principal

if TYPE_CHECKING:
    from chalicelib.observability.dashboards import Page

api = ApiBlueprint(__name__)
LOGS, DASHBOARDS, ALERTS = ("logs",), ("dashboards",), ("alerts",)
READ: Access = {"auth": "user", "scope": "logs:read"}
WRITE: Access = {"auth": "user", "scope": "logs:write"}
TIME_HELP = "ISO 8601 with a timezone, epoch milliseconds, or now / now-15m (s, m, h, d, w)"
PAGING = (
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    QueryParam("cursor", {"type": "string"}, "The `next` value of the previous page"),
)
WINDOW = (
    QueryParam("from", {"type": "string"}, f"Start (inclusive): {TIME_HELP}"),
    QueryParam("to", {"type": "string"}, f"End (exclusive), default now: {TIME_HELP}"),
)


def _query() -> dict[str, str]:
    return api.current_request.query_params or {}


def _limit() -> int:
    raw = _query().get("limit", "20")
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None


def _page(page: Page) -> Response:
    return json_response({"items": page.items, "count": len(page.items), "next": page.next_cursor})


# -- logs -----------------------------------------------------------------------------------


@api.route(
    "/api/v1/logs",
    ("POST",),
    summary="Ship log events",
    description="A JSON array, or NDJSON (`application/x-ndjson`), of events with timestamp, level, service, "
    "message and any other fields. Each event is judged alone: 202 when all are accepted, 207 with the rejected "
    "ones and their positions when some are, 400 when none is. Accepted events are searchable about a second "
    "later. Log shippers authenticate with an API key with the `logs:write` scope.",
    content_types=("application/json", "application/x-ndjson"),
    request_schema="log-events",
    responses={202: "All accepted", 207: "Some accepted: {accepted, rejected, errors: [{index, line, errors}]}"},
    tags=LOGS,
    **WRITE,
)
def ship_logs() -> Response:
    summary = observability().logs.ingest(current_principal(), api.current_request.raw_body)
    return json_response(summary, status=207 if summary["rejected"] else 202)


@api.route(
    "/api/v1/logs/search",
    summary="Search my logs",
    description="Newest first, with the total, a date histogram (interval chosen for the window), and counts per "
    "level and service, all under the same filters. `q` is query-string syntax over the message (`field:value` "
    "for any field); the window defaults to the last 24 h.",
    query=(
        QueryParam("q", {"type": "string"}),
        QueryParam("level", {"type": "string"}, "Comma-separated levels"),
        QueryParam("service", {"type": "string"}, "Comma-separated services"),
        *WINDOW,
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
        QueryParam("cursor", {"type": "string"}, "The `next` value of the previous page"),
        QueryParam("owner", {"type": "string"}, "Administrators: another owner's logs (`platform`: the API's own)"),
    ),
    tags=LOGS,
    **READ,
)
def search_logs() -> Response:
    return json_response(observability().logs.search(current_principal(), _query()))


# -- dashboards -----------------------------------------------------------------------------


@api.route(
    "/api/v1/dashboards",
    ("POST",),
    summary="Create a dashboard",
    description="Widgets: a saved log query plus a view: count_over_time {interval}, top_terms {field, n} or "
    "stat {stat: count|min|max|avg|sum, field}.",
    request_schema="dashboard",
    responses={201: "The dashboard"},
    tags=DASHBOARDS,
    **WRITE,
)
def create_dashboard() -> Response:
    created = observability().dashboards.create(current_principal(), route_body(api.current_request))
    return json_response(created, status=201, headers={"Location": f"/api/v1/dashboards/{created['id']}"})


@api.route("/api/v1/dashboards", summary="My dashboards", query=PAGING, tags=DASHBOARDS, **READ)
def list_dashboards() -> Response:
    return _page(observability().dashboards.list(current_principal(), _limit(), _query().get("cursor")))


@api.route(
    "/api/v1/dashboards/{dashboard_id}",
    summary="A dashboard",
    responses={200: "The dashboard", 304: "Not modified"},
    tags=DASHBOARDS,
    **READ,
)
def get_dashboard(dashboard_id: str) -> Response:
    return json_with_etag(api.current_request, observability().dashboards.get(current_principal(), dashboard_id))


@api.route(
    "/api/v1/dashboards/{dashboard_id}",
    ("PUT",),
    summary="Replace a dashboard",
    request_schema="dashboard",
    tags=DASHBOARDS,
    **WRITE,
)
def replace_dashboard(dashboard_id: str) -> Response:
    body = route_body(api.current_request)
    return json_response(observability().dashboards.replace(current_principal(), dashboard_id, body))


@api.route(
    "/api/v1/dashboards/{dashboard_id}",
    ("DELETE",),
    summary="Delete a dashboard",
    responses={204: "Deleted"},
    produces=None,
    tags=DASHBOARDS,
    **WRITE,
)
def delete_dashboard(dashboard_id: str) -> Response:
    observability().dashboards.delete(current_principal(), dashboard_id)
    return Response(body="", status_code=204)


@api.route(
    "/api/v1/dashboards/{dashboard_id}/data",
    summary="A dashboard's data",
    description="Every widget computed over the window (default the last hour) by one aggregation query each, "
    "as chart-ready series: labels + values (count_over_time, top_terms), value + count (stat). A widget whose "
    "interval makes too many buckets for the window answers with an error of its own.",
    query=WINDOW,
    tags=DASHBOARDS,
    **READ,
)
def dashboard_data(dashboard_id: str) -> Response:
    query = _query()
    return json_response(
        observability().dashboards.data(current_principal(), dashboard_id, query.get("from"), query.get("to"))
    )


# -- alerts ---------------------------------------------------------------------------------


@api.route(
    "/api/v1/alerts",
    ("POST",),
    summary="Create an alert rule",
    description="Evaluated every minute: the count of events matching `query` in the last `window` is compared "
    "with `threshold`. Crossing it opens an alert event and notifies each channel once (email through SES, or a "
    "webhook POST); going back resolves it and notifies once more.",
    request_schema="alert-rule",
    responses={201: "The rule"},
    tags=ALERTS,
    **WRITE,
)
def create_alert() -> Response:
    created = observability().alerts.create(current_principal(), route_body(api.current_request))
    return json_response(created, status=201, headers={"Location": f"/api/v1/alerts/{created['id']}"})


@api.route("/api/v1/alerts", summary="My alert rules", query=PAGING, tags=ALERTS, **READ)
def list_alerts() -> Response:
    return _page(observability().alerts.list(current_principal(), _limit(), _query().get("cursor")))


@api.route(
    "/api/v1/alerts/recipients",
    ("POST",),
    summary="Add an alert recipient",
    description="Mails `email` a link to confirm that it wants this account's alerts; an email channel may name it "
    "once it has. The account's own email needs no confirmation.",
    request_schema="alert-recipient",
    responses={202: "The recipient, not verified yet", 409: "Too many recipients, or the address's hourly mail cap"},
    tags=ALERTS,
    **WRITE,
)
def add_alert_recipient() -> Response:
    body = route_body(api.current_request)
    return json_response(observability().alerts.add_recipient(current_principal(), body["email"]), status=202)


@api.route("/api/v1/alerts/recipients", summary="My alert recipients", tags=ALERTS, **READ)
def list_alert_recipients() -> Response:
    items = observability().alerts.recipients(current_principal())
    return json_response({"items": items, "count": len(items), "next": None})


@api.route(
    "/api/v1/alerts/recipients/{recipient_id}",
    ("DELETE",),
    summary="Remove an alert recipient",
    description="Rules that name it stop mailing it at once.",
    responses={204: "Removed"},
    produces=None,
    tags=ALERTS,
    **WRITE,
)
def delete_alert_recipient(recipient_id: str) -> Response:
    observability().alerts.delete_recipient(current_principal(), recipient_id)
    return Response(body="", status_code=204)


RECIPIENT_CONFIRM = "/api/v1/alerts/recipients/confirm"
RECIPIENT_TITLE = "Receive alerts at this address"


@api.route(
    RECIPIENT_CONFIRM,
    summary="Recipient confirmation page",
    description="The page the emailed link opens: one button that posts the token back.",
    produces="text/html",
    query=(),
    tags=ALERTS,
)
def recipient_confirm_page() -> Response:
    token = (api.current_request.query_params or {}).get("token", "")
    return pages.confirm_form(RECIPIENT_TITLE, token, "Yes, send me these alerts")


@api.route(
    RECIPIENT_CONFIRM,
    ("POST",),
    summary="Confirm an alert recipient",
    description="The token of the emailed link, as JSON or as the confirmation page's form.",
    content_types=("application/json", pages.FORM_TYPE),
    responses={200: "The recipient, verified", 400: "The link is invalid, used or expired"},
    tags=ALERTS,
)
def confirm_alert_recipient() -> Response:
    return pages.confirmation(
        api.current_request,
        RECIPIENT_TITLE,
        observability().alerts.confirm_recipient,
        lambda recipient: f"{recipient['email']} will receive this account's alerts.",
    )


@api.route(
    "/api/v1/alerts/{alert_id}",
    summary="An alert rule",
    description="With its state (ok or firing) and the value of its last evaluation.",
    responses={200: "The rule", 304: "Not modified"},
    tags=ALERTS,
    **READ,
)
def get_alert(alert_id: str) -> Response:
    return json_with_etag(api.current_request, observability().alerts.get(current_principal(), alert_id))


@api.route(
    "/api/v1/alerts/{alert_id}",
    ("PUT",),
    summary="Replace an alert rule",
    description="Its state carries over: a firing rule resolves at the next evaluation if the new condition no "
    "longer holds.",
    request_schema="alert-rule",
    tags=ALERTS,
    **WRITE,
)
def replace_alert(alert_id: str) -> Response:
    body = route_body(api.current_request)
    return json_response(observability().alerts.replace(current_principal(), alert_id, body))


@api.route(
    "/api/v1/alerts/{alert_id}",
    ("DELETE",),
    summary="Delete an alert rule",
    description="With its history of events.",
    responses={204: "Deleted"},
    produces=None,
    tags=ALERTS,
    **WRITE,
)
def delete_alert(alert_id: str) -> Response:
    observability().alerts.delete(current_principal(), alert_id)
    return Response(body="", status_code=204)


@api.route(
    "/api/v1/alerts/{alert_id}/events",
    summary="An alert rule's history",
    description="Each time it fired, newest first: when it opened and resolved, the values, the notifications "
    "sent and whether they were delivered.",
    query=PAGING,
    tags=ALERTS,
    **READ,
)
def alert_events(alert_id: str) -> Response:
    return _page(observability().alerts.events(current_principal(), alert_id, _limit(), _query().get("cursor")))
