"""JsonFormatter: one JSON object per record, request id from the contextvar, no tracebacks."""

from __future__ import annotations

import datetime
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import jsonlog
from chalicelib.jsonlog import JsonFormatter, request_id_var


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.jsonlog")
    log.handlers = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, stream
    log.handlers = []
    log.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_record_is_one_json_line_with_the_standard_fields(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    log.warning("stock low for %s: %d left", "sku-1", 3)

    (entry,) = lines(stream)
    assert set(entry) == {"ts", "level", "logger", "message"}
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "tests.jsonlog"
    assert entry["message"] == "stock low for sku-1: 3 left"
    stamp = datetime.datetime.fromisoformat(entry["ts"])
    assert stamp.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.UTC) - stamp).total_seconds()) < 60


def test_timestamp_is_utc_with_milliseconds() -> None:
    record = logging.makeLogRecord({"msg": "x", "levelname": "INFO", "name": "n", "created": 1709294400.1234})

    entry = json.loads(JsonFormatter().format(record))

    assert entry["ts"] == "2024-03-01T12:00:00.123+00:00"


def test_the_request_id_comes_from_the_contextvar(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    token = request_id_var.set("req-42")
    try:
        log.info("inside")
    finally:
        request_id_var.reset(token)
    log.info("outside")

    inside, outside = lines(stream)
    assert inside["request_id"] == "req-42"
    assert "request_id" not in outside


def test_extras_become_top_level_fields_and_internals_do_not(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    log.info(
        "order placed",
        extra={
            "order_id": "o-1",
            "amount": 12.5,
            "items": ["a", "b"],
            "meta": {"retry": False},
            "at": datetime.date(2024, 3, 1),
            "_private": "hidden",
        },
    )

    (entry,) = lines(stream)
    assert entry == {
        "ts": entry["ts"],
        "level": "INFO",
        "logger": "tests.jsonlog",
        "message": "order placed",
        "order_id": "o-1",
        "amount": 12.5,
        "items": ["a", "b"],
        "meta": {"retry": False},
        "at": "2024-03-01",  # not JSON-serialisable: rendered with str()
    }
    for internal in ("args", "msg", "levelno", "pathname", "lineno", "funcName", "process", "thread", "exc_text"):
        assert internal not in entry


def test_an_exception_is_logged_as_type_and_message_without_a_traceback(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger

    def explode() -> None:
        raise KeyError("secret-table-name")

    try:
        explode()
    except KeyError:
        log.exception("lookup failed", extra={"table": "orders"})

    output = stream.getvalue()
    assert "Traceback" not in output
    assert "explode" not in output
    assert "test_jsonlog.py" not in output
    (entry,) = lines(stream)
    assert entry["level"] == "ERROR"
    assert entry["message"] == "lookup failed"
    assert entry["table"] == "orders"
    assert entry["error"] == {"type": "KeyError", "message": "'secret-table-name'"}
    assert "exc_info" not in entry
    assert "stack_info" not in entry


def test_a_long_exception_message_is_truncated(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    try:
        raise ValueError("x" * 2000)
    except ValueError:
        log.error("bad", exc_info=True)

    (entry,) = lines(stream)
    assert entry["error"] == {"type": "ValueError", "message": "x" * 500}


def test_exc_info_without_an_active_exception_adds_no_error(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    log.error("no exception here", exc_info=True)

    (entry,) = lines(stream)
    assert "error" not in entry


def test_stack_info_is_not_logged(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger

    log.info("where am I", stack_info=True)

    assert "Stack (most recent call last)" not in stream.getvalue()
    assert set(lines(stream)[0]) == {"ts", "level", "logger", "message"}


class _LoggingWithPrivateRoot:
    """The logging module, except that the root logger is a private one: configure() can be
    exercised without touching the process's real root logger (which pytest also uses)."""

    def __init__(self, root: logging.Logger) -> None:
        self.root = root

    def getLogger(self, name: str | None = None) -> logging.Logger:
        return self.root if name is None else logging.getLogger(name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(logging, attribute)


@pytest.fixture
def root_logger(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    root = logging.Logger("private-root", logging.WARNING)
    root.addHandler(logging.NullHandler())
    monkeypatch.setattr(jsonlog, "logging", _LoggingWithPrivateRoot(root))
    return root


def test_configure_routes_the_root_logger_to_stdout_as_json_once(root_logger: logging.Logger) -> None:
    jsonlog.configure("DEBUG")

    (handler,) = root_logger.handlers  # replaces whatever was there
    assert isinstance(handler, logging.StreamHandler)
    assert isinstance(handler.formatter, JsonFormatter)
    assert handler.stream is sys.stdout
    assert root_logger.level == logging.DEBUG

    jsonlog.configure("WARNING")

    assert root_logger.handlers == [handler]
    assert root_logger.level == logging.WARNING


def test_get_logger_is_the_standard_named_logger() -> None:
    assert jsonlog.get_logger("a.b") is logging.getLogger("a.b")
