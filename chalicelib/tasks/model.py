"""A scheduled task as the tasks services speak of it, its statuses, and the storage the services
need (`TaskStorage`: chalicelib/tasks/store.py is it over DynamoDB, its docstring says how each
move is one conditional write). Storage-free.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
)
STATUSES = (PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
CANCELLABLE = (PENDING, QUEUED)


@dataclass(frozen=True)
class Transition:
    status: str
    # Epoch ms.
    at: int


@dataclass(frozen=True)
class Task:
    task_id: str
    owner_id: str
    # "<created_at ms, 13 digits>#<task_id>": newest first per owner, unique per owner.
    created_key: str
    name: str
    kind: str
    # The payload as JSON text.
    payload: str
    status: str
    # The time the client asked for, as it gave it (normalised ISO 8601 with its offset).
    scheduled_at: str
    # Epoch ms of the next moment the task needs attention: its run time while pending or
    # queued, the end of its lease while running (past it, the worker is presumed dead).
    due_at: int
    created_at: int
    updated_at: int
    attempts: int
    max_attempts: int
    history: tuple[Transition, ...]
    dispatch_id: str | None = None
    started_at: int | None = None
    finished_at: int | None = None
    last_error: str | None = None
    # The result as JSON text.
    result: str | None = None


class TaskStorage(Protocol):
    """Every move is conditional on the status (and, past pending, the dispatch) it expects: a
    move that finds the task otherwise answers None and changes nothing."""

    def create(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def claim(self, task_id: str, dispatch_id: str, at: int, superseding: str | None = None) -> Task | None:
        """pending → queued under a new dispatch; or, with `superseding`, a queued task whose
        message was lost gets a new dispatch."""

    def release(self, task_id: str, dispatch_id: str, at: int) -> Task | None:
        """queued → pending: the message could not be sent."""

    def start(self, task_id: str, dispatch_id: str, at: int, lease_until: int) -> Task | None: ...

    def complete(self, task_id: str, dispatch_id: str, at: int, result: str) -> Task | None: ...

    def fail(self, task_id: str, dispatch_id: str, at: int, error: str) -> Task | None: ...

    def retry(
        self, task_id: str, dispatch_id: str, next_dispatch: str, at: int, due_at: int, error: str
    ) -> Task | None:
        """running → queued for another attempt at `due_at`, under a new dispatch."""

    def cancel(self, task_id: str, at: int, owner_id: str | None) -> Task | None:
        """pending or queued → cancelled, for `owner_id`'s task only (None: anyone's)."""

    def due(self, status: str, until: int) -> Iterator[Task]:
        """Tasks in `status` whose due_at is at or before `until`, earliest first."""

    def owned(self, owner_id: str, status: str | None, after: dict[str, Any] | None, page_size: int) -> Iterator[Task]:
        """An owner's tasks, newest first, from after the cursor key."""

    def owned_since(self, owner_id: str, since: int) -> Iterator[Task]: ...


def is_cursor_key(key: Any) -> bool:
    """Whether a decoded cursor is a key of the owner index (what `owned` pages from)."""
    return isinstance(key, dict) and all(isinstance(key.get(k), str) for k in ("task_id", "created_key"))
