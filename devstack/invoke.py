"""`make invoke FN=... EVENT=...`: run one handler in this process against the running local cloud.

    python -m devstack.invoke --fn on_identity_change --event tests/events/dynamodb-identity-insert.json
    python -m devstack.invoke --fn api --event tests/events/apigateway-health.json
    python -m devstack.invoke --list

Like `sam local invoke`, with no container: the event (a file in Lambda's exact shape, see
tests/events/) goes through Chalice's own entry points with a Lambda context, the handler
talks to the stack that `make run` started (PORT, default 8000), and the handler's return
value is printed as JSON on stdout. The app's log lines go to stderr. A handler that raises
prints Lambda's error document and exits 1.

The stack is asked for its endpoints and resources (GET /_devstack) *before* app.py is
imported, because the stream handlers read STREAM_ARN_<KEY> at import (docs/local-cloud.md).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from devstack.cloud import LOCAL_AWS_ENV
from devstack.control import control

# Names that mean "the API Gateway handler": chalice's own logical name, and a short one.
API_NAMES = ("api", "APIHandler")
MEMORY_MB = 512
TIMEOUT_S = 30


class InvokeError(Exception):
    """Something the caller must fix (no stack, unknown handler, unreadable event)."""


def stack_status(port: str) -> dict[str, Any]:
    try:
        return control(port=port)
    except OSError as exc:
        raise InvokeError(f"No local cloud answers on port {port}: start it with `make run` first ({exc}).") from None


def environment(status: dict[str, Any]) -> dict[str, str]:
    """The variables the app reads, pointing at the running stack, as its own process has them."""
    from devstack.bootstrap import stream_env

    endpoints = status["endpoints"]
    env = {
        "AWS_ENDPOINT_URL": endpoints["aws"],
        "OPENSEARCH_URL": endpoints["opensearch"],
        "REDIS_URL": endpoints["redis"],
        "PUBLIC_BASE_URL": endpoints["api"].replace("127.0.0.1", "localhost"),
        **stream_env(status["resources"]),
    }
    # The stack may run with another RESOURCE_PREFIX; its table names tell which.
    for key, table in status["resources"].get("tables", {}).items():
        if table["name"].endswith(f"-{key}"):
            env["RESOURCE_PREFIX"] = table["name"][: -len(key) - 1]
            break
    return env


def load_event(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        event = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InvokeError(f"cannot read the event {path}: {exc}") from None
    if not isinstance(event, dict):
        raise InvokeError(f"the event {path} is not a JSON object")
    return event


def handler_kinds(app: Any) -> dict[str, str]:
    """Every invocable name with what feeds it: api, dynamodb, sqs, schedule, ..."""
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

    kinds = {"api": "api"} if app.routes else {}
    for source in app.event_sources:
        if isinstance(source, DynamoDBEventConfig):
            kind = "dynamodb"
        elif isinstance(source, SQSEventConfig):
            kind = "sqs"
        elif isinstance(source, ScheduledEventConfig):
            kind = "schedule"
        else:
            kind = type(source).__name__
        kinds[source.name] = kind
    # Route views are reached through the API handler, not invoked on their own.
    views = {entry.view_name for methods in app.routes.values() for entry in methods.values()}
    for name in app.handler_map:
        if name not in views:
            kinds.setdefault(name, "function")
    return kinds


def invoke(app: Any, name: str, event: dict[str, Any]) -> Any:
    from chalice.local import LambdaContext

    handler_name = "APIHandler" if name in API_NAMES else name
    context = LambdaContext(
        function_name=f"{app.app_name}-local-{handler_name}", memory_size=MEMORY_MB, max_runtime_ms=TIMEOUT_S * 1000
    )
    if name in API_NAMES:
        # Chalice's app object is the API handler: it routes the proxy event, middleware included.
        return app(event, context)
    handler = app.handler_map.get(name)
    if handler is None:
        raise InvokeError(f"no handler named {name!r}; known: {', '.join(sorted(handler_kinds(app)))}")
    return handler(event, context)


def lambda_error(exc: BaseException) -> dict[str, Any]:
    """What Lambda returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fn", help="handler name (as in app.handler_map), or `api` for an API Gateway event")
    parser.add_argument("--event", help="event JSON file in Lambda's shape (tests/events/...), or - for stdin")
    parser.add_argument("--list", action="store_true", help="list the handlers and what feeds each, then exit")
    parser.add_argument("--app", default=os.environ.get("DEVSTACK_APP", "app:app"), help="module:attribute")
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="the running stack's API port")
    args = parser.parse_args(argv)
    if not args.list and not (args.fn and args.event):
        parser.error("--fn and --event are required (or --list)")
    out = sys.stdout
    try:
        event = load_event(args.event) if not args.list else {}
        status = stack_status(args.port)
        for name, value in LOCAL_AWS_ENV.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ.update(environment(status))
        module_name, _, attribute = args.app.partition(":")
        # Logs to stderr, the result alone on stdout: the app's JSON log handler binds the
        # stream that is sys.stdout when app.py configures it, so import and run redirected.
        with contextlib.redirect_stdout(sys.stderr):
            app = getattr(importlib.import_module(module_name), attribute or "app")
            if args.list:
                result: Any = handler_kinds(app)
            else:
                try:
                    result = invoke(app, args.fn, event)
                except InvokeError:
                    raise
                except Exception as exc:
                    traceback.print_exc()
                    print(json.dumps(lambda_error(exc), indent=2), file=out)
                    return 1
    except InvokeError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
