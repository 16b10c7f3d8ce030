"""What a task can do: the kinds. Adding one is one decorated function.

    @kind("name", payload={...JSON Schema...}, summary="...")
    def name(payload: dict, run: Run, uses: Collaborators) -> Any:   # the task's result (JSON)
        ...

The payload schema is checked when the task is created, so a worker only sees payloads of the
right shape. A kind signals failure by raising: `Permanent` when retrying cannot help (the
task fails at once), anything else is retried with backoff up to the task's attempts. A kind
must respect `run.remaining_s()`: the worker stops waiting for it after the time limit.

A kind does its work through the collaborators it is given (`Collaborators`: another context's
index rebuild, ingestion, log retention, an account's address), never by reaching into another
context; the tasks context's composition root binds them (`standard_kinds`), and the application
plugs in the other contexts' parts (chalicelib/composition.py).

Kinds that touch every user's data (reindex, purge_logs) are for administrators only.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import schemas, webhooks
from chalicelib.config import Settings
from chalicelib.errors import FieldError, NotFound, ValidationFailed


class Permanent(Exception):
    """A failure that another attempt would repeat: the task fails without retrying."""


@dataclass(frozen=True)
class Run:
    """What a kind knows about the run it is part of."""

    task_id: str
    owner_id: str
    name: str
    attempt: int
    deadline: float

    def remaining_s(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)


@dataclass(frozen=True)
class Kind:
    name: str
    run: Callable[[dict[str, Any], Run], Any]
    payload_schema: dict[str, Any]
    summary: str
    admin_only: bool = False
    # Checks beyond the schema, when the task is created (raise ValidationFailed).
    check: Callable[[dict[str, Any], Settings], None] | None = None


@dataclass(frozen=True)
class Collaborators:
    """What the standard kinds do their work with, each from the context that owns it."""

    settings: Settings
    # documents: rebuild a type's search index (NotFound for an unknown type).
    rebuild_index: Callable[[str], dict[str, Any]]
    # catalog: run an ingestion request (what POST /api/v1/admin/ingest takes).
    ingest: Callable[[dict[str, Any]], dict[str, Any]]
    # observability: drop the log indexes older than n days; an owner's logs between two moments.
    purge_logs: Callable[[int], dict[str, Any]]
    log_summary: Callable[[str, datetime.datetime, datetime.datetime], dict[str, Any]]
    # identity: an account's address (None: no such account).
    email_of: Callable[[str], str | None]
    # tasks: an owner's tasks created since an epoch second, by status.
    task_counts: Callable[[str, float], dict[str, int]]
    send_email: Callable[[str, str, str], str]


Work = Callable[[dict[str, Any], Run, Collaborators], Any]


@dataclass(frozen=True)
class _Definition:
    work: Work
    payload_schema: dict[str, Any]
    summary: str
    admin_only: bool
    check: Callable[[dict[str, Any], Settings], None] | None


_DEFINED: dict[str, _Definition] = {}


def kind(
    name: str,
    *,
    payload: dict[str, Any],
    summary: str,
    admin_only: bool = False,
    check: Callable[[dict[str, Any], Settings], None] | None = None,
) -> Callable[[Work], Work]:
    def register(work: Work) -> Work:
        if name in _DEFINED:
            raise ValueError(f"task kind {name!r} registered twice")
        schema = {"type": "object", "additionalProperties": False, **payload}
        _DEFINED[name] = _Definition(work, schema, summary, admin_only, check)
        return work

    return register


def _doing(work: Work, uses: Collaborators) -> Callable[[dict[str, Any], Run], Any]:
    return lambda payload, run: work(payload, run, uses)


def standard_kinds(uses: Collaborators) -> Mapping[str, Kind]:
    """Every kind defined below, doing its work with `uses`."""
    return {
        name: Kind(name, _doing(d.work, uses), d.payload_schema, d.summary, d.admin_only, d.check)
        for name, d in _DEFINED.items()
    }


# -- record (the default) -------------------------------------------------------------------

DEFAULT_KIND = "record"


@kind(
    DEFAULT_KIND,
    summary="The kind of a task created without one: at its time it records that it ran (its result "
    "names the task, the attempt and when it ran, with the optional `note`); like every completed "
    "task it then publishes `task.completed`.",
    payload={"properties": {"note": {"type": "string", "maxLength": 1000}}},
)
def record(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    ran_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"task": run.name, "attempt": run.attempt, "ran_at": ran_at, **payload}


# -- webhook --------------------------------------------------------------------------------

HEADER_NAME = "^[A-Za-z0-9-]{1,64}$"
# Headers the client may not set: they describe the request we build, not its content.
RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}


def _check_webhook(payload: dict[str, Any], settings: Settings) -> None:
    problems = []
    try:
        webhooks.check_literal_host(payload["url"], settings.webhook_allow_private)
    except webhooks.WebhookRefused as exc:
        problems.append(FieldError("$.payload.url", str(exc)))
    for header in payload.get("headers", {}):
        if header.lower() in RESERVED_HEADERS or header.lower().startswith(("x-task-", "idempotency-key")):
            problems.append(FieldError(f"$.payload.headers.{header}", "this header is set by the platform"))
    if problems:
        raise ValidationFailed(problems)


@kind(
    "webhook",
    summary="POST `body` as JSON to `url` (http/https, public addresses only). The request carries "
    "`X-Task-Id` and `Idempotency-Key` (the task id), so a receiver can drop a retried delivery.",
    payload={
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1, "maxLength": 2048},
            "body": {"description": "Any JSON value; {} when absent"},
            "headers": {
                "type": "object",
                "maxProperties": 20,
                "propertyNames": {"pattern": HEADER_NAME},
                "additionalProperties": {"type": "string", "maxLength": 1024, "pattern": "^[^\\r\\n]*$"},
            },
        },
    },
    check=_check_webhook,
)
def webhook(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    headers = {**payload.get("headers", {}), "X-Task-Id": run.task_id, "Idempotency-Key": run.task_id}
    try:
        delivery = webhooks.post_json(
            payload["url"],
            payload.get("body", {}),
            headers=headers,
            timeout_s=min(run.remaining_s(), 30.0),
            allow_private=uses.settings.webhook_allow_private,
        )
    except webhooks.WebhookRefused as exc:
        raise Permanent(str(exc)) from None
    return {"status": delivery.status, "response": delivery.body_preview[:200]}


# -- reindex --------------------------------------------------------------------------------


@kind(
    "reindex",
    summary="Rebuild the search index of a document type (default plan) from DynamoDB: every stored "
    "document is indexed again and index entries with no stored document are removed.",
    payload={"properties": {"type": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,39}$", "default": "plan"}}},
    admin_only=True,
)
def reindex(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    doc_type = payload.get("type", "plan")
    try:
        return uses.rebuild_index(doc_type)
    except NotFound:
        raise Permanent(f"no document type {doc_type!r}") from None


# -- ingest ---------------------------------------------------------------------------------


def _catalog_ingest_schema() -> dict[str, Any]:
    return {k: v for k, v in schemas.load("ingest-request").items() if k not in ("$schema", "$id", "title")}


@kind(
    "ingest",
    summary="Catalog ingestion on a schedule: products from a DummyJSON-compatible `source` URL or a `products` "
    "list, upserted by source id (what POST /api/v1/admin/ingest does).",
    payload=_catalog_ingest_schema(),
    admin_only=True,
)
def ingest(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    return uses.ingest(payload)


# -- purge_logs -----------------------------------------------------------------------------


@kind(
    "purge_logs",
    summary="Apply log retention: delete the daily log indexes older than `retention_days` "
    "(default LOGS_RETENTION_DAYS).",
    payload={"properties": {"retention_days": {"type": "integer", "minimum": 1, "maximum": 3650}}},
    admin_only=True,
)
def purge_logs(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    return uses.purge_logs(payload.get("retention_days") or uses.settings.logs_retention_days)


# -- report ---------------------------------------------------------------------------------


@kind(
    "report",
    summary="Email the task's owner a summary of the last `hours` (default 24): their tasks by status "
    "and their logs by level and service.",
    payload={"properties": {"hours": {"type": "integer", "minimum": 1, "maximum": 720, "default": 24}}},
)
def report(payload: dict[str, Any], run: Run, uses: Collaborators) -> dict[str, Any]:
    hours = payload.get("hours", 24)
    until = datetime.datetime.now(datetime.UTC)
    since = until - datetime.timedelta(hours=hours)
    email = uses.email_of(run.owner_id)
    if email is None:
        raise Permanent("the task's owner no longer exists")
    tasks = uses.task_counts(run.owner_id, since.timestamp())
    logs = uses.log_summary(run.owner_id, since, until)
    lines = [
        f"Your summary for the last {hours} h (until {until.isoformat(timespec='seconds')}).",
        "",
        f"Tasks created: {sum(tasks.values())}",
        *(f"  {status}: {count}" for status, count in sorted(tasks.items())),
        "",
        f"Log events: {logs['total']}",
        *(f"  level {level}: {count}" for level, count in logs["levels"].items()),
        *(f"  service {service}: {count}" for service, count in logs["services"].items()),
    ]
    message_id = uses.send_email(email, f"Your {hours} h summary", "\n".join(lines))
    return {"sent_to": email, "message_id": message_id, "tasks": tasks, "log_events": logs["total"]}
