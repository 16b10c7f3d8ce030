from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import __version__
from chalicelib.config import get_settings
from chalicelib.health import checks
from chalicelib.health.service import HealthReport, run_checks
from chalicelib.http.routing import ApiBlueprint, json_response

api = ApiBlueprint(__name__)
TAGS = ("health",)
NO_STORE = {"Cache-Control": "no-store"}
# The tasks seed's health client reads `components.<name>` as booleans; each is one of our
# checks, up or not. Added beside `checks`, which stays the full report.
SEED_COMPONENTS = {"database": "dynamodb", "redis": "redis"}


def _report() -> HealthReport:
    settings = get_settings()
    return run_checks(
        checks.all_checks(settings),
        required=checks.required(settings),
        timeout_s=settings.health_timeout_s,
        version=__version__,
    )


def _body(report: HealthReport) -> dict[str, Any]:
    body = report.as_dict()
    body["components"] = {name: body["checks"][check]["status"] == "up" for name, check in SEED_COMPONENTS.items()}
    return body


@api.route(
    "/health",
    summary="Dependency report",
    description="Checks DynamoDB, SQS, OpenSearch and Redis concurrently. `degraded` means an optional "
    "component (Redis) is down and the API still serves; `unhealthy` means a required one is down. "
    "`components` repeats two of them as booleans (`database`, `redis`) for the tasks seed's client.",
    tags=TAGS,
    aliases=("/api/v1/health",),
    responses={200: "The report (status may be healthy, degraded or unhealthy)"},
)
def health() -> Response:
    return json_response(_body(_report()), headers=NO_STORE)


@api.route(
    "/health/live",
    summary="Liveness",
    description="Answers 200 while the process serves requests; touches no dependency.",
    tags=TAGS,
    aliases=("/api/v1/health/live",),
)
def live() -> Response:
    return json_response({"status": "alive"}, headers=NO_STORE)


@api.route(
    "/health/ready",
    summary="Readiness",
    description="200 when every required component is up, 503 otherwise.",
    tags=TAGS,
    aliases=("/api/v1/health/ready",),
    responses={200: "Ready", 503: "A required component is down"},
)
def ready() -> Response:
    report = _report()
    return json_response(_body(report), status=200 if report.ready else 503, headers=NO_STORE)
