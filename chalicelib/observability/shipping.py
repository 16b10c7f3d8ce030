"""Ships the API's own request log lines into its log search (LOGS_SHIP_REQUESTS, default off).

The HTTP middleware logs one `request` line per request on the `http` logger; this handler
turns each into a log event of the platform owner and batches them onto the logs queue from a
background thread, so a request never waits for SQS. In Lambda the thread is frozen between
invocations: lines wait for the next one, and the few buffered when an instance is retired
are lost (the JSON lines in CloudWatch remain).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from chalicelib.jsonlog import get_logger, request_id_var
from chalicelib.observability.query import iso

# The owner of the API's own request logs; administrators read them with ?owner=platform.
PLATFORM_OWNER = "platform"
FLUSH_INTERVAL_S = 1.0
MAX_BUFFERED = 10_000
FIELDS = ("method", "path", "route", "status", "latency_ms")

log = get_logger("observability")


def request_event(record: logging.LogRecord) -> dict[str, Any]:
    status = getattr(record, "status", 0) or 0
    level = "error" if status >= 500 else "warn" if status >= 400 else "info"
    event: dict[str, Any] = {
        "timestamp": iso(datetime.datetime.fromtimestamp(record.created, datetime.UTC)),
        "level": level,
        "service": "api",
        "message": f"{getattr(record, 'method', '?')} {getattr(record, 'path', '?')} {status}",
        "event_id": uuid.uuid4().hex,
        "ingested_at": iso(datetime.datetime.now(datetime.UTC)),
    }
    event.update({name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None})
    request_id = getattr(record, "request_id", None) or request_id_var.get()
    if request_id:
        event["request_id"] = request_id
    return event


class RequestLogShipper(logging.Handler):
    def __init__(self, send: Callable[[str, list[dict[str, Any]]], None]) -> None:
        super().__init__(level=logging.INFO)
        self._send = send
        # Bounded: if the queue is unreachable for long, the oldest lines go first.
        self._buffer: deque[dict[str, Any]] = deque(maxlen=MAX_BUFFERED)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() != "request":
            return
        self._buffer.append(request_event(record))
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="request-log-shipper", daemon=True)
                    self._thread.start()

    def flush(self) -> None:
        events = []
        while self._buffer:
            events.append(self._buffer.popleft())
        if not events:
            return
        try:
            self._send(PLATFORM_OWNER, events)
        except Exception:
            # Not through the `http` logger: a failure to ship must not become a line to ship.
            log.warning("could not ship request logs", extra={"events": len(events)})

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL_S)
            self.flush()


_installed: RequestLogShipper | None = None
_install_lock = threading.Lock()


def install(enabled: bool, send: Callable[[str, list[dict[str, Any]]], None]) -> RequestLogShipper | None:
    """Attach the shipper to the `http` logger once per process, if the switch is on."""
    global _installed
    if not enabled:
        return None
    with _install_lock:
        if _installed is None:
            _installed = RequestLogShipper(send)
            logging.getLogger("http").addHandler(_installed)
    return _installed
