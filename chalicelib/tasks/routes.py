"""Task routes: create, list, read, status, cancel; and the kinds a task can have."""

from __future__ import annotations

from chalice import Response

from chalicelib.errors import BadRequest
from chalicelib.http.etag import json_with_etag
from chalicelib.http.requests import route_body
from chalicelib.http.routing import ApiBlueprint, QueryParam, TaggedAccess, json_response
from chalicelib.principal import current_principal
from chalicelib.tasks.container import tasks

api = ApiBlueprint(__name__)
TAGS = ("tasks",)
READ: TaggedAccess = {"auth": "user", "scope": "tasks:read", "tags": TAGS}
WRITE: TaggedAccess = {"auth": "user", "scope": "tasks:write", "tags": TAGS}


def _query() -> dict[str, str]:
    return api.current_request.query_params or {}


def _limit() -> int:
    raw = _query().get("limit", "20")
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None


@api.route(
    "/api/v1/tasks",
    ("POST",),
    summary="Schedule a task",
    description="`scheduled_at` is ISO 8601 with a timezone; a time in the past is refused unless `run_now` is "
    "true. The task starts pending, is queued shortly before its time, and runs within about a second of it.",
    request_schema="task-create",
    responses={201: "The task, pending", 403: "An administrators-only kind"},
    **WRITE,
)
def create_task() -> Response:
    task = tasks().service.create(current_principal(), route_body(api.current_request))
    return json_response(task, status=201, headers={"Location": f"/api/v1/tasks/{task['id']}"})


@api.route(
    "/api/v1/tasks",
    summary="My tasks",
    description="Newest first; `status` filters, `cursor` is the previous page's `next`.",
    query=(
        QueryParam(
            "status", {"type": "string", "enum": ["pending", "queued", "running", "completed", "failed", "cancelled"]}
        ),
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        QueryParam("cursor", {"type": "string"}, "The `next` value of the previous page"),
    ),
    **READ,
)
def list_tasks() -> Response:
    page = tasks().service.list(current_principal(), _query().get("status"), _limit(), _query().get("cursor"))
    return json_response({"items": page.items, "count": len(page.items), "next": page.next_cursor})


@api.route(
    "/api/v1/tasks/{task_id}",
    summary="A task",
    description="Status, attempts, last_error, started_at, finished_at, result and the history of its transitions.",
    responses={200: "The task", 304: "Not modified"},
    **READ,
)
def get_task(task_id: str) -> Response:
    return json_with_etag(api.current_request, tasks().service.get(current_principal(), task_id))


@api.route("/api/v1/tasks/{task_id}/status", summary="A task's status", **READ)
def task_status(task_id: str) -> Response:
    return json_response(tasks().service.status(current_principal(), task_id))


@api.route(
    "/api/v1/tasks/{task_id}/cancel",
    ("POST",),
    summary="Cancel a task",
    description="Only while it is pending or queued; a cancelled task never runs, even if its message is on its way.",
    responses={200: "The cancelled task", 409: "The task is running or finished"},
    **WRITE,
)
def cancel_task(task_id: str) -> Response:
    return json_response(tasks().service.cancel(current_principal(), task_id))


@api.route(
    "/api/v1/task-kinds",
    summary="What a task can do",
    description="Each kind with its payload's JSON Schema and whether only administrators may use it.",
    **READ,
)
def task_kinds() -> Response:
    kinds = [
        {"kind": k.name, "summary": k.summary, "admin_only": k.admin_only, "payload_schema": k.payload_schema}
        for k in tasks().kinds.values()
    ]
    return json_response({"items": kinds, "count": len(kinds), "next": None})
