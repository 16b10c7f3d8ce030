"""The tasks table (PynamoDB). Every status change is one conditional update.

A task moves pending → queued → running → completed | failed, or to cancelled from pending or
queued. Each move names the status (and, past pending, the dispatch) it expects; when the item
is not in that state DynamoDB refuses the write and the caller learns it lost a race, so a
cancelled task never starts and a task never starts twice. `dispatch_id` names the one SQS
message allowed to start the task: a duplicate or superseded message finds another id and does
nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.dynamo import Entry, condition_failed, get_or_none, int_or_none, unbound_meta
from chalicelib.tasks.model import CANCELLABLE, CANCELLED, COMPLETED, FAILED, PENDING, QUEUED, RUNNING, Task, Transition


class ByDue(GlobalSecondaryIndex["TaskItem"]):
    class Meta:
        index_name = "by-due"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


class ByOwner(GlobalSecondaryIndex["TaskItem"]):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class TransitionEntry(Entry):
    status = UnicodeAttribute()
    at = NumberAttribute()


class TaskItem(Model):
    Meta = unbound_meta()

    task_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    # "<created_at ms, 13 digits>#<task_id>": newest first in by-owner, unique per owner.
    created_key = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    payload = UnicodeAttribute()
    status = UnicodeAttribute()
    # The time the client asked for, as it gave it (normalised ISO 8601 with its offset).
    scheduled_at = UnicodeAttribute()
    # Epoch ms of the next moment the task needs attention: its run time while pending or
    # queued, the end of its lease while running (past it, the worker is presumed dead).
    due_at = NumberAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    attempts = NumberAttribute(default=0)
    max_attempts = NumberAttribute()
    dispatch_id = UnicodeAttribute(null=True)
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    history = ListAttribute(of=TransitionEntry, default=list)
    by_due = ByDue()
    by_owner = ByOwner()

    @classmethod
    def of(cls, task: Task) -> TaskItem:
        fields = dataclasses.asdict(task)
        fields["history"] = [TransitionEntry(status=t.status, at=t.at) for t in task.history]
        return cls(fields.pop("task_id"), **fields)

    def task(self) -> Task:
        return Task(
            task_id=self.task_id,
            owner_id=self.owner_id,
            created_key=self.created_key,
            name=self.name,
            kind=self.kind,
            payload=self.payload,
            status=self.status,
            scheduled_at=self.scheduled_at,
            due_at=int(self.due_at),
            created_at=int(self.created_at),
            updated_at=int(self.updated_at),
            attempts=int(self.attempts),
            max_attempts=int(self.max_attempts),
            history=tuple(Transition(t.status, int(t.at)) for t in self.history),
            dispatch_id=self.dispatch_id,
            started_at=int_or_none(self.started_at),
            finished_at=int_or_none(self.finished_at),
            last_error=self.last_error,
            result=self.result,
        )


class TaskStore:
    def create(self, task: Task) -> None:
        TaskItem.of(task).save(condition=TaskItem.task_id.does_not_exist())

    def get(self, task_id: str) -> Task | None:
        item = get_or_none(TaskItem, task_id)
        return item.task() if item is not None else None

    def _transition(self, task_id: str, expected: Condition, status: str, at: int, actions: list[Any]) -> Task | None:
        """Move the task to `status` if it is as `expected`; the new item, or None if it was not."""
        item = TaskItem(task_id)
        try:
            item.update(
                actions=[
                    TaskItem.status.set(status),
                    TaskItem.updated_at.set(at),
                    TaskItem.history.set(TaskItem.history.append([TransitionEntry(status=status, at=at)])),
                    *actions,
                ],
                condition=TaskItem.task_id.exists() & expected,
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return None
            raise
        return item.task()

    @staticmethod
    def _dispatched(status: str, dispatch_id: str) -> Condition:
        condition: Condition = (TaskItem.status == status) & (TaskItem.dispatch_id == dispatch_id)
        return condition

    def claim(self, task_id: str, dispatch_id: str, at: int, superseding: str | None = None) -> Task | None:
        """pending → queued under a new dispatch; or, with `superseding`, a queued task whose
        message was lost gets a new dispatch (the old message can no longer start it)."""
        expected = TaskItem.status == PENDING if superseding is None else self._dispatched(QUEUED, superseding)
        return self._transition(task_id, expected, QUEUED, at, [TaskItem.dispatch_id.set(dispatch_id)])

    def release(self, task_id: str, dispatch_id: str, at: int) -> Task | None:
        """queued → pending: the message could not be sent, so the next sweep tries again."""
        return self._transition(
            task_id, self._dispatched(QUEUED, dispatch_id), PENDING, at, [TaskItem.dispatch_id.remove()]
        )

    def start(self, task_id: str, dispatch_id: str, at: int, lease_until: int) -> Task | None:
        return self._transition(
            task_id,
            self._dispatched(QUEUED, dispatch_id),
            RUNNING,
            at,
            [TaskItem.attempts.add(1), TaskItem.started_at.set(at), TaskItem.due_at.set(lease_until)],
        )

    def complete(self, task_id: str, dispatch_id: str, at: int, result: str) -> Task | None:
        return self._transition(
            task_id,
            self._dispatched(RUNNING, dispatch_id),
            COMPLETED,
            at,
            [TaskItem.finished_at.set(at), TaskItem.result.set(result)],
        )

    def fail(self, task_id: str, dispatch_id: str, at: int, error: str) -> Task | None:
        return self._transition(
            task_id,
            self._dispatched(RUNNING, dispatch_id),
            FAILED,
            at,
            [TaskItem.finished_at.set(at), TaskItem.last_error.set(error)],
        )

    def retry(
        self, task_id: str, dispatch_id: str, next_dispatch: str, at: int, due_at: int, error: str
    ) -> Task | None:
        """running → queued for another attempt at `due_at`, under a new dispatch."""
        return self._transition(
            task_id,
            self._dispatched(RUNNING, dispatch_id),
            QUEUED,
            at,
            [TaskItem.dispatch_id.set(next_dispatch), TaskItem.due_at.set(due_at), TaskItem.last_error.set(error)],
        )

    def cancel(self, task_id: str, at: int, owner_id: str | None) -> Task | None:
        expected = TaskItem.status.is_in(*CANCELLABLE)
        if owner_id is not None:
            expected &= TaskItem.owner_id == owner_id
        return self._transition(task_id, expected, CANCELLED, at, [TaskItem.finished_at.set(at)])

    def due(self, status: str, until: int) -> Iterator[Task]:
        """Tasks in `status` whose due_at is at or before `until`, earliest first. The index is
        eventually consistent, so an item may already have moved on: every use is conditional."""
        for item in TaskItem.by_due.query(status, TaskItem.due_at <= until, page_size=100):
            yield item.task()

    def owned(self, owner_id: str, status: str | None, after: dict[str, Any] | None, page_size: int) -> Iterator[Task]:
        """An owner's tasks, newest first, from after the cursor key."""
        start = (
            {
                "task_id": {"S": after["task_id"]},
                "owner_id": {"S": owner_id},
                "created_key": {"S": after["created_key"]},
            }
            if after
            else None
        )
        for item in TaskItem.by_owner.query(
            owner_id,
            scan_index_forward=False,
            filter_condition=TaskItem.status == status if status else None,
            last_evaluated_key=start,
            page_size=page_size,
        ):
            yield item.task()

    def owned_since(self, owner_id: str, since: int) -> Iterator[Task]:
        for item in TaskItem.by_owner.query(owner_id, TaskItem.created_key >= f"{since:013d}", page_size=100):
            yield item.task()
