"""Calling a registered handler the way Lambda does, and reading what it answered."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice
from chalice.local import LambdaContext

from devstack.runtime.shapes import function_arn

log = logging.getLogger("devstack.runtime")


@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error: str | None = None
    # itemIdentifiers the handler reported as failed; None when it reported nothing.
    failed_items: set[str] | None = field(default=None)


@dataclass
class Stats:
    invocations: int = 0
    errors: int = 0
    records: int = 0


class Invoker:
    """Runs `app.handler_map[name]` (Chalice's own event wrapper) with a Lambda context."""

    def __init__(self, app: Chalice, region: str, timeout_s: int = 60) -> None:
        self.app = app
        self.region = region
        self.timeout_s = timeout_s
        self.stats: dict[str, Stats] = {}

    def function_arn(self, handler: str) -> str:
        return function_arn(self.app.app_name, handler, self.region)

    def invoke(self, handler: str, event: dict[str, Any], source: str) -> Invocation:
        context = LambdaContext(
            function_name=f"{self.app.app_name}-local-{handler}",
            memory_size=512,
            max_runtime_ms=self.timeout_s * 1000,
        )
        records = len(event.get("Records", [])) or 1
        stats = self.stats.setdefault(handler, Stats())
        stats.invocations += 1
        stats.records += records
        started = time.perf_counter()
        try:
            result = self.app.handler_map[handler](event, context)
            invocation = Invocation(ok=True, result=result, failed_items=batch_item_failures(result))
        except Exception as exc:
            stats.errors += 1
            invocation = Invocation(ok=False, error=f"{type(exc).__name__}: {exc}")
        log.info(
            "invocation",
            extra={
                "handler": handler,
                "source": source,
                "records": records,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "outcome": "ok" if invocation.ok else "error",
                "error": invocation.error,
                "failed_items": sorted(invocation.failed_items or []),
            },
        )
        return invocation


def batch_item_failures(result: Any) -> set[str] | None:
    """The partial batch response (ReportBatchItemFailures), or None if the handler gave none."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return None
    return {str(item.get("itemIdentifier")) for item in result["batchItemFailures"] or []}
