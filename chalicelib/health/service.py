"""Running dependency checks concurrently under one deadline. Framework-free."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

Check = Callable[[], Mapping[str, Any]]

# Shared, so a burst of health probes does not spawn threads per request. A check that
# overruns the deadline keeps its worker until its client's own timeout ends it.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


@dataclass(frozen=True)
class HealthReport:
    status: str
    version: str
    timestamp: str
    checks: dict[str, dict[str, Any]]

    @property
    def ready(self) -> bool:
        return self.status != "unhealthy"

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "version": self.version, "timestamp": self.timestamp, "checks": self.checks}


def _timed(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = dict(check())
        result = {"status": details.pop("status", "up"), **details}
    except Exception as exc:
        # The exception class is enough to act on; messages can carry endpoints or keys.
        result = {"status": "down", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def overall_status(results: Mapping[str, Mapping[str, Any]], required: Collection[str]) -> str:
    down = {name for name, result in results.items() if result["status"] != "up"}
    if not down:
        return "healthy"
    return "unhealthy" if down & set(required) else "degraded"


def run_checks(checks: Mapping[str, Check], required: Collection[str], timeout_s: float, version: str) -> HealthReport:
    futures = {name: _pool.submit(_timed, check) for name, check in checks.items()}
    deadline = time.monotonic() + timeout_s
    results: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = {"status": "down", "error": "Timeout", "latency_ms": round(timeout_s * 1000, 2)}
    return HealthReport(
        status=overall_status(results, required),
        version=version,
        timestamp=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        checks=results,
    )
