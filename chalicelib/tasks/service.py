"""Scheduled tasks: creating and reading them, dispatching them on time, and running them.

Three roles share the store and never trust each other's timing, only conditional writes:

- `TaskService` answers the API: create (pending), list, read, cancel.
- `Dispatcher` hands tasks to SQS: it claims a pending task (pending → queued, under a fresh
  dispatch id) and sends {task_id, dispatch_id} with DelaySeconds = the time left. The
  sweeper does it every minute for tasks due within the horizon; the tasks stream does it at
  once for a new task due that soon, so a task created for 5 s from now does not wait for
  the next sweep. Both may try; one claim wins. The sweep also repairs: a queued task whose
  message was lost gets a new dispatch, a running task whose worker died (lease over) counts
  as a failed attempt.
- `Worker` runs a message: moves queued → running (only for the dispatch the message names),
  runs the kind under the time limit, and records completed, failed, or queued again for a
  retry with exponential backoff.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import functools
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import schemas
from chalicelib.config import Settings
from chalicelib.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from chalicelib.http import paging
from chalicelib.jsonlog import get_logger
from chalicelib.principal import Principal
from chalicelib.tasks.kinds import DEFAULT_KIND, Kind, Permanent, Run
from chalicelib.tasks.model import (
    COMPLETED,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    STATUSES,
    Task,
    TaskStorage,
    Transition,
    is_cursor_key,
)

log = get_logger("tasks")

MAX_PAGE = 100
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_RESULT_BYTES = 16 * 1024
MAX_ERROR_CHARS = 1000
MAX_SCHEDULE_AHEAD_S = 366 * 24 * 3600
SQS_MAX_DELAY_S = 900

# Sends {task_id, dispatch_id} to the tasks queue, visible after the given delay (s).
Send = Callable[[dict[str, str], int], None]


@dataclass(frozen=True)
class Timing:
    max_attempts: int
    retry_backoff_s: int
    time_limit_s: int
    # The sweeper runs every minute; it dispatches what is due before its next run plus slack.
    horizon_s: int = 120
    # A queued task this far past its time has lost its message (it is normally started
    # within a second of it); a new dispatch replaces it.
    stale_s: int = 120
    # How long past the time limit a running task may stay silent before it is presumed dead.
    lease_grace_s: int = 30
    # A message that arrives this early (or less) waits in the worker instead of going back.
    early_tolerance_s: float = 1.0


def iso(ms: float | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def view(item: Task) -> dict[str, Any]:
    waiting = item.status in (PENDING, QUEUED)
    return {
        "id": item.task_id,
        "name": item.name,
        "kind": item.kind,
        "payload": json.loads(item.payload),
        "status": item.status,
        "scheduled_at": item.scheduled_at,
        "next_run_at": iso(item.due_at) if waiting else None,
        "attempts": item.attempts,
        "max_attempts": item.max_attempts,
        "last_error": item.last_error,
        "result": json.loads(item.result) if item.result is not None else None,
        "started_at": iso(item.started_at),
        "finished_at": iso(item.finished_at),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "history": [{"status": t.status, "at": iso(t.at)} for t in item.history],
    }


STATUS_FIELDS = ("id", "status", "attempts", "max_attempts", "last_error", "started_at", "finished_at", "next_run_at")


def status_view(item: Task) -> dict[str, Any]:
    full = view(item)
    return {**{k: full[k] for k in STATUS_FIELDS}, "history": full["history"]}


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 date-time with a timezone (`Z` or an offset)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed([FieldError("$.scheduled_at", "not an ISO 8601 date-time")]) from None
    if moment.tzinfo is None:
        raise ValidationFailed([FieldError("$.scheduled_at", "needs a timezone (Z or an offset such as +02:00)")])
    return moment


def _json_capped(value: Any, limit: int) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    if len(text.encode()) <= limit:
        return text
    return json.dumps({"truncated": True, "preview": text[: limit // 2]})


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class TaskService:
    def __init__(
        self,
        store: TaskStorage,
        timing: Timing,
        settings: Settings,
        kinds: Mapping[str, Kind],
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.timing = timing
        self.settings = settings
        self.kinds = kinds
        self.clock = clock
        self.new_id = new_id

    # -- creating -------------------------------------------------------------------------

    def _kind(self, principal: Principal, name: str) -> Kind:
        found = self.kinds.get(name)
        if found is None:
            raise ValidationFailed([FieldError("$.kind", f"unknown kind; one of {', '.join(sorted(self.kinds))}")])
        if found.admin_only and not principal.is_admin:
            raise Forbidden(f"Only administrators may create {name} tasks")
        return found

    def _payload(self, kind: Kind, payload: dict[str, Any]) -> str:
        problems = [
            FieldError("$.payload" + e.path[1:], e.message) for e in schemas.field_errors(kind.payload_schema, payload)
        ]
        if problems:
            raise ValidationFailed(problems)
        if kind.check is not None:
            kind.check(payload, self.settings)
        text = json.dumps(payload, separators=(",", ":"))
        if len(text.encode()) > MAX_PAYLOAD_BYTES:
            raise ValidationFailed([FieldError("$.payload", f"larger than {MAX_PAYLOAD_BYTES} bytes")])
        return text

    def _due(self, data: dict[str, Any], now: float) -> tuple[str, int]:
        """(scheduled_at as stored, due time in epoch ms)."""
        run_now = data.get("run_now", False)
        if "scheduled_at" not in data:
            if not run_now:
                raise ValidationFailed([FieldError("$.scheduled_at", "required unless run_now is true")])
            return iso(now * 1000) or "", int(now * 1000)
        moment = parse_time(data["scheduled_at"])
        at = moment.timestamp()
        if at < now and not run_now:
            raise ValidationFailed(
                [FieldError("$.scheduled_at", "is in the past; send run_now: true to run the task at once")]
            )
        if at > now + MAX_SCHEDULE_AHEAD_S:
            raise ValidationFailed([FieldError("$.scheduled_at", "is more than a year ahead")])
        return moment.isoformat(), int(max(at, now) * 1000)

    def create(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        kind = self._kind(principal, data.get("kind", DEFAULT_KIND))
        payload = self._payload(kind, data.get("payload", {}))
        now = self.clock()
        scheduled_at, due_at = self._due(data, now)
        now_ms = int(now * 1000)
        task_id = self.new_id()
        item = Task(
            task_id=task_id,
            owner_id=principal.user_id,
            created_key=f"{now_ms:013d}#{task_id}",
            name=data["name"],
            kind=kind.name,
            payload=payload,
            status=PENDING,
            scheduled_at=scheduled_at,
            due_at=due_at,
            created_at=now_ms,
            updated_at=now_ms,
            attempts=0,
            max_attempts=data.get("max_attempts", self.timing.max_attempts),
            history=(Transition(status=PENDING, at=now_ms),),
        )
        self.store.create(item)
        return view(item)

    # -- reading --------------------------------------------------------------------------

    def _visible(self, principal: Principal, task_id: str) -> Task:
        item = self.store.get(task_id)
        # Another user's task is indistinguishable from a missing one.
        if item is None or not (principal.is_admin or item.owner_id == principal.user_id):
            raise NotFound(f"No task {task_id}")
        return item

    def get(self, principal: Principal, task_id: str) -> dict[str, Any]:
        return view(self._visible(principal, task_id))

    def status(self, principal: Principal, task_id: str) -> dict[str, Any]:
        return status_view(self._visible(principal, task_id))

    def list(self, principal: Principal, status: str | None, limit: int, cursor: str | None) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
        after = paging.decode_cursor(cursor, is_cursor_key) if cursor else None
        items: list[Task] = []
        has_more = False
        for item in self.store.owned(principal.user_id, status, after, limit + 1):
            if len(items) == limit:
                has_more = True
                break
            items.append(item)
        last = items[-1] if has_more else None
        next_cursor = paging.encode_cursor({"task_id": last.task_id, "created_key": last.created_key}) if last else None
        return Page([view(item) for item in items], next_cursor)

    def summary(self, owner_id: str, since_epoch_s: float) -> dict[str, int]:
        """How many of the owner's tasks created since then are in each status."""
        counts: dict[str, int] = {}
        for item in self.store.owned_since(owner_id, int(since_epoch_s * 1000)):
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    # -- cancelling -----------------------------------------------------------------------

    def cancel(self, principal: Principal, task_id: str) -> dict[str, Any]:
        owner = None if principal.is_admin else principal.user_id
        cancelled = self.store.cancel(task_id, int(self.clock() * 1000), owner)
        if cancelled is not None:
            return view(cancelled)
        current = self._visible(principal, task_id)
        raise Conflict(f"The task is {current.status}; only a pending or queued task can be cancelled")


class Dispatcher:
    def __init__(
        self,
        store: TaskStorage,
        send: Send,
        timing: Timing,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store = store
        self.send = send
        self.timing = timing
        self.clock = clock
        self.new_id = new_id

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _send(self, item: Task) -> bool:
        # Rounded down: the message arrives up to a second early and the worker waits out the
        # rest, so a task starts on time rather than up to a second late.
        delay = min(max(math.floor((item.due_at - self._now_ms()) / 1000), 0), SQS_MAX_DELAY_S)
        try:
            self.send({"task_id": item.task_id, "dispatch_id": item.dispatch_id or ""}, delay)
        except Exception:
            log.exception("could not send a task to its queue", extra={"task_id": item.task_id})
            return False
        return True

    def dispatch(self, task_id: str, superseding: str | None = None) -> bool:
        """Claim the task for a new dispatch and send it; False if another claim won."""
        claimed = self.store.claim(task_id, self.new_id(), self._now_ms(), superseding)
        if claimed is None:
            return False
        if not self._send(claimed):
            # Back to pending, so the next sweep tries again; if even that fails, the stale
            # queued task is re-dispatched by a later sweep.
            self.store.release(task_id, claimed.dispatch_id or "", self._now_ms())
            raise RuntimeError(f"task {task_id} could not be sent to its queue")
        return True

    def due_soon(self, due_at_ms: int) -> bool:
        return due_at_ms <= self._now_ms() + self.timing.horizon_s * 1000

    def sweep(self, worker: Worker) -> dict[str, int]:
        """One run of the minute sweeper. Counts what it did, by action."""
        now = self._now_ms()
        counts = {"dispatched": 0, "redispatched": 0, "expired": 0, "errors": 0}
        jobs: list[tuple[str, Callable[[], bool]]] = []
        for item in self.store.due(PENDING, now + self.timing.horizon_s * 1000):
            jobs.append(("dispatched", functools.partial(self.dispatch, item.task_id)))
        for item in self.store.due(QUEUED, now - self.timing.stale_s * 1000):
            jobs.append(("redispatched", functools.partial(self.dispatch, item.task_id, superseding=item.dispatch_id)))
        for item in self.store.due(RUNNING, now):
            jobs.append(("expired", functools.partial(worker.expire, item)))
        for action, job in jobs:
            try:
                if job():
                    counts[action] += 1
            except Exception:
                log.exception("sweep action failed", extra={"action": action})
                counts["errors"] += 1
        return counts


class Worker:
    def __init__(
        self,
        store: TaskStorage,
        send: Send,
        timing: Timing,
        kinds: Mapping[str, Kind],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store = store
        self.send = send
        self.timing = timing
        self.kinds = kinds
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.new_id = new_id

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def handle(self, message: dict[str, Any]) -> str:
        """Run the task a message names, if the message may still start it. The outcome:
        skipped (cancelled, superseded, duplicate), deferred (too early), completed, retrying, failed."""
        task_id, dispatch_id = message.get("task_id"), message.get("dispatch_id")
        if not isinstance(task_id, str) or not isinstance(dispatch_id, str):
            log.warning("malformed task message dropped", extra={"body": str(message)[:200]})
            return "skipped"
        item = self.store.get(task_id)
        if item is None or item.status != QUEUED or item.dispatch_id != dispatch_id:
            return "skipped"
        early_s = (item.due_at - self._now_ms()) / 1000
        if early_s > self.timing.early_tolerance_s:
            # SQS delays stop at 15 minutes; a longer wait (a retry's backoff) takes more hops.
            self.send(message, min(math.floor(early_s), SQS_MAX_DELAY_S))
            return "deferred"
        if early_s > 0:
            self.sleep(early_s)
        now = self._now_ms()
        lease_until = now + (self.timing.time_limit_s + self.timing.lease_grace_s) * 1000
        started = self.store.start(task_id, dispatch_id, now, lease_until)
        if started is None:
            return "skipped"
        return self._run(started)

    def _run(self, item: Task) -> str:
        kind = self.kinds.get(item.kind)
        attempt = item.attempts
        run = Run(item.task_id, item.owner_id, item.name, attempt, time.monotonic() + self.timing.time_limit_s)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"task-{item.task_id[:8]}")
        try:
            if kind is None:
                raise Permanent(f"no kind {item.kind!r} in this deployment")
            future = pool.submit(kind.run, json.loads(item.payload), run)
            done, _ = concurrent.futures.wait([future], timeout=self.timing.time_limit_s)
            if not done:
                # The kind's thread cannot be killed; kinds bound their own I/O by remaining_s().
                error = f"TimeLimit: no result within {self.timing.time_limit_s} s"
                return self._failed(item, error, permanent=False)
            result = future.result()
        except Permanent as exc:
            return self._failed(item, _error_text(exc), permanent=True)
        except Exception as exc:
            log.warning(
                "task attempt failed",
                extra={"task_id": item.task_id, "kind": item.kind, "attempt": attempt, "error": _error_text(exc)},
            )
            return self._failed(item, _error_text(exc), permanent=False)
        finally:
            pool.shutdown(wait=False)
        result_text = _json_capped(result, MAX_RESULT_BYTES)
        if self.store.complete(item.task_id, item.dispatch_id or "", self._now_ms(), result_text):
            return COMPLETED
        log.warning("task finished after its lease was taken over", extra={"task_id": item.task_id})
        return "skipped"

    def backoff_s(self, attempt: int) -> float:
        """Exponential, capped at SQS's longest delay, with jitter so that retries against one
        failing receiver spread out: between half and all of base × 2^(attempt-1)."""
        ceiling: float = min(self.timing.retry_backoff_s * 2 ** (attempt - 1), SQS_MAX_DELAY_S)
        return ceiling / 2 + self.jitter() * ceiling / 2

    def _failed(self, item: Task, error: str, permanent: bool) -> str:
        now = self._now_ms()
        dispatch_id = item.dispatch_id or ""
        if permanent or item.attempts >= item.max_attempts:
            if self.store.fail(item.task_id, dispatch_id, now, error) is None:
                return "skipped"
            return FAILED
        delay = self.backoff_s(item.attempts)
        next_dispatch = self.new_id()
        requeued = self.store.retry(item.task_id, dispatch_id, next_dispatch, now, now + int(delay * 1000), error)
        if requeued is None:
            return "skipped"
        try:
            self.send({"task_id": item.task_id, "dispatch_id": next_dispatch}, min(math.floor(delay), SQS_MAX_DELAY_S))
        except Exception:
            # The sweep re-dispatches a queued task whose message never came.
            log.exception("could not queue a retry", extra={"task_id": item.task_id})
        return "retrying"

    def expire(self, item: Task) -> bool:
        """A running task past its lease: its worker died. The attempt counts as failed."""
        if item.status != RUNNING or item.due_at > self._now_ms():
            return False
        outcome = self._failed(item, "WorkerLost: no outcome recorded before the lease ended", permanent=False)
        return outcome != "skipped"
