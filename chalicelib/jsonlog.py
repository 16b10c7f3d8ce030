"""Structured logs: one JSON object per line, stamped with the current request id.

CloudWatch Logs Insights and the local cloud's console both read these lines; stdlib
logging with a small formatter keeps the Lambda package and cold start lean.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            # The exception's type and message, never the traceback: a stack trace in a log
            # line leaks code layout and, through locals in messages, sometimes secrets.
            exc = record.exc_info[1]
            entry["error"] = {"type": type(exc).__name__, "message": str(exc)[:500]}
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure(level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON lines (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    root.setLevel(level)
    # Client libraries log every credential lookup and HTTP request at INFO; keep the
    # stream about our requests and invocations.
    for noisy in ("botocore", "boto3", "urllib3", "opensearch", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
