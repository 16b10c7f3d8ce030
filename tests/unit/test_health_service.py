"""run_checks: concurrent checks under one deadline, and the healthy/degraded/unhealthy verdict."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.health.service import HealthReport, overall_status, run_checks


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Blocks slow checks; released at teardown so no pool worker is left waiting."""
    event = threading.Event()
    yield event
    event.set()


def up() -> dict[str, Any]:
    return {}


def failing() -> dict[str, Any]:
    raise ConnectionError("connect to 10.0.0.7:6379 with password hunter2 failed")


def test_all_checks_up_is_healthy_and_ready() -> None:
    report = run_checks({"dynamodb": up, "redis": up}, required={"dynamodb"}, timeout_s=1.0, version="1.2.3")

    assert report.status == "healthy"
    assert report.ready is True
    assert report.version == "1.2.3"
    assert list(report.checks) == ["dynamodb", "redis"]
    for result in report.checks.values():
        assert result["status"] == "up"
        assert isinstance(result["latency_ms"], float)
        assert 0 <= result["latency_ms"] < 1000


def test_a_check_can_report_its_own_status_and_details() -> None:
    def opensearch() -> dict[str, Any]:
        return {"status": "down", "cluster_status": "red"}

    report = run_checks({"opensearch": opensearch}, required=(), timeout_s=1.0, version="v")

    assert report.checks["opensearch"]["status"] == "down"
    assert report.checks["opensearch"]["cluster_status"] == "red"
    assert report.status == "degraded"


def test_an_optional_check_down_degrades_but_stays_ready() -> None:
    report = run_checks({"dynamodb": up, "redis": failing}, required={"dynamodb"}, timeout_s=1.0, version="v")

    assert report.status == "degraded"
    assert report.ready is True


def test_a_required_check_down_is_unhealthy_and_not_ready() -> None:
    report = run_checks({"dynamodb": failing, "redis": up}, required={"dynamodb"}, timeout_s=1.0, version="v")

    assert report.status == "unhealthy"
    assert report.ready is False


def test_a_failing_check_reports_only_the_exception_class() -> None:
    report = run_checks({"redis": failing}, required=(), timeout_s=1.0, version="v")

    result = report.checks["redis"]
    assert set(result) == {"status", "error", "latency_ms"}
    assert result["status"] == "down"
    assert result["error"] == "ConnectionError"
    assert "hunter2" not in repr(report.as_dict())


def test_a_check_returning_garbage_is_down_not_a_crash() -> None:
    report = run_checks({"weird": lambda: 42}, required={"weird"}, timeout_s=1.0, version="v")  # type: ignore[dict-item]

    assert report.checks["weird"]["status"] == "down"
    assert report.checks["weird"]["error"] == "TypeError"
    assert report.status == "unhealthy"


def test_checks_run_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=1.0)

    def meet() -> dict[str, Any]:
        # Only returns if all three checks are running at the same time.
        barrier.wait()
        return {}

    report = run_checks({"a": meet, "b": meet, "c": meet}, required={"a", "b", "c"}, timeout_s=2.0, version="v")

    assert report.status == "healthy"


def test_a_check_past_the_deadline_is_down_with_timeout(gate: threading.Event) -> None:
    def hangs() -> dict[str, Any]:
        gate.wait(5)
        return {}

    started = time.monotonic()
    report = run_checks({"dynamodb": up, "opensearch": hangs}, required={"opensearch"}, timeout_s=0.05, version="v")
    elapsed = time.monotonic() - started

    assert report.checks["opensearch"] == {"status": "down", "error": "Timeout", "latency_ms": 50.0}
    assert report.checks["dynamodb"]["status"] == "up"
    assert report.status == "unhealthy"
    assert elapsed < 0.5


def test_the_deadline_is_shared_not_per_check(gate: threading.Event) -> None:
    def hangs() -> dict[str, Any]:
        gate.wait(5)
        return {}

    started = time.monotonic()
    report = run_checks({"a": hangs, "b": hangs, "c": hangs}, required=(), timeout_s=0.08, version="v")
    elapsed = time.monotonic() - started

    assert [r["error"] for r in report.checks.values()] == ["Timeout"] * 3
    assert report.status == "degraded"
    # One 80 ms deadline for all three (not 80 ms each, which would be 240 ms).
    assert 0.08 <= elapsed < 0.2


def test_report_as_dict_and_timestamp_format() -> None:
    report = run_checks({"a": up}, required=(), timeout_s=1.0, version="9.9.9")

    document = report.as_dict()
    assert set(document) == {"status", "version", "timestamp", "checks"}
    assert document["status"] == "healthy"
    assert document["version"] == "9.9.9"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["timestamp"])
    assert document["checks"] == report.checks


def test_no_checks_is_healthy() -> None:
    report = run_checks({}, required=(), timeout_s=0.1, version="v")

    assert (report.status, report.checks) == ("healthy", {})


@pytest.mark.parametrize(
    ("statuses", "required", "expected"),
    [
        ({"a": "up", "b": "up"}, {"a"}, "healthy"),
        ({"a": "up", "b": "down"}, {"a"}, "degraded"),
        ({"a": "down", "b": "up"}, {"a"}, "unhealthy"),
        ({"a": "down", "b": "down"}, set(), "degraded"),
        ({"a": "degraded"}, ["a"], "unhealthy"),  # anything but "up" counts as down
        ({"a": "up"}, {"missing"}, "healthy"),
    ],
)
def test_overall_status(statuses: dict[str, str], required: Any, expected: str) -> None:
    results = {name: {"status": status} for name, status in statuses.items()}

    assert overall_status(results, required) == expected


def test_ready_is_false_only_when_unhealthy() -> None:
    def report(status: str) -> HealthReport:
        return HealthReport(status=status, version="v", timestamp="t", checks={})

    assert [report(s).ready for s in ("healthy", "degraded", "unhealthy")] == [True, True, False]
