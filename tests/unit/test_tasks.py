"""Scheduled tasks against DynamoDB's conditional writes (moto in process, serialised like the
real thing): creation rules, the lifecycle, the cancel/run race, retries to failure, the sweep."""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import DynamoDBRecord

from chalicelib import clients
from chalicelib.config import Settings, get_settings
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.principal import Principal
from chalicelib.tasks.kinds import Collaborators, Kind, Permanent, Run, standard_kinds

ALICE = Principal("alice-id", "alice", ("user",), via="jwt")
BOB = Principal("bob-id", "bob", ("user",), via="jwt")
ADMIN = Principal("admin-id", "admin", ("user", "admin"), via="jwt")
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.UTC).timestamp()


def elsewhere(*args: Any) -> Any:
    raise AssertionError("no kind these tests run works with another context")


KINDS = standard_kinds(
    Collaborators(
        Settings.from_env(),
        rebuild_index=elsewhere,
        ingest=elsewhere,
        purge_logs=elsewhere,
        log_summary=elsewhere,
        email_of=elsewhere,
        task_counts=elsewhere,
        send_email=elsewhere,
    )
)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Queue:
    """The tasks queue as the dispatcher and worker see it: what was sent, with its delay."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, str], int]] = []
        self.lock = threading.Lock()

    def __call__(self, message: dict[str, str], delay_s: int) -> None:
        with self.lock:
            self.sent.append((dict(message), delay_s))

    def pop(self) -> tuple[dict[str, str], int]:
        return self.sent.pop(0)


class Calls:
    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def record(self, run: Run) -> None:
        with self.lock:
            self.runs.append((run.task_id, run.attempt))


@pytest.fixture
def store(monkeypatch) -> Iterator[Any]:
    from moto import mock_aws

    from devstack import bootstrap, moto_serial

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    moto_serial.apply()
    clients.reset()
    with mock_aws():
        from chalicelib.dynamo import bind
        from chalicelib.tasks.resources import TASKS_TABLE
        from chalicelib.tasks.store import TaskItem, TaskStore

        settings = dataclasses.replace(Settings.from_env(), resource_prefix="unit")
        bootstrap.create_table(TASKS_TABLE, settings)
        bind(TaskItem, TASKS_TABLE, settings)
        yield TaskStore()
    clients.reset()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def kinds(calls: Calls) -> dict[str, Kind]:
    def echo(payload: dict[str, Any], run: Run) -> Any:
        calls.record(run)
        return {"echo": payload}

    def flaky(payload: dict[str, Any], run: Run) -> Any:
        calls.record(run)
        if run.attempt <= payload.get("failures", 1_000):
            raise RuntimeError(f"boom {run.attempt}")
        return "finally"

    def broken(payload: dict[str, Any], run: Run) -> Any:
        calls.record(run)
        raise Permanent("cannot ever work")

    def slow(payload: dict[str, Any], run: Run) -> Any:
        calls.record(run)
        threading.Event().wait(1.5)
        return "too late"

    schema = {"type": "object"}
    return {
        name: Kind(name, fn, schema, name)
        for name, fn in (("echo", echo), ("flaky", flaky), ("broken", broken), ("slow", slow))
    }


class World:
    def __init__(self, store: Any, kinds: dict[str, Kind], clock: Any, time_limit_s: int = 5) -> None:
        from chalicelib.tasks.service import Dispatcher, TaskService, Timing, Worker

        self.clock = clock
        self.queue = Queue()
        self.slept: list[float] = []
        timing = Timing(max_attempts=3, retry_backoff_s=10, time_limit_s=time_limit_s)
        self.service = TaskService(store, timing, get_settings(), kinds=kinds, clock=clock)
        self.dispatcher = Dispatcher(store, self.queue, timing, clock=clock)
        self.worker = Worker(store, self.queue, timing, kinds=kinds, clock=clock, sleep=self.sleep, jitter=lambda: 1.0)
        self.store = store

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if isinstance(self.clock, Clock):
            self.clock.advance(seconds)

    def create(self, principal: Principal = ALICE, in_s: float = 5, kind: str = "echo", **extra: Any) -> dict[str, Any]:
        at = datetime.datetime.fromtimestamp(self.clock() + in_s, datetime.UTC)
        return self.service.create(principal, {"name": "job", "kind": kind, "scheduled_at": at.isoformat(), **extra})

    def status(self, task_id: str) -> dict[str, Any]:
        return self.service.get(ADMIN, task_id)


@pytest.fixture
def world(store, kinds) -> World:
    return World(store, kinds, Clock())


def at(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(T0 + seconds, datetime.UTC).isoformat()


def problems(exc: ValidationFailed) -> dict[str, str]:
    return {error.path: error.message for error in exc.errors}


# -- creating ---------------------------------------------------------------------------------


def test_scheduled_at_must_be_a_future_time_with_a_timezone_unless_run_now(store):
    service = World(store, KINDS, Clock()).service
    webhook = {"name": "ping", "kind": "webhook", "payload": {"url": "https://hooks.example.com/x"}}
    for data, message in (
        ({"scheduled_at": at(-1)}, "is in the past"),
        ({"scheduled_at": "2030-01-01T12:00:05"}, "needs a timezone"),
        ({"scheduled_at": "tomorrow at noon"}, "not an ISO 8601"),
        ({}, "required unless run_now"),
        ({"scheduled_at": at(400 * 86400)}, "more than a year ahead"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            service.create(ALICE, {**webhook, **data})
        assert message in problems(refused.value)["$.scheduled_at"]

    late = service.create(ALICE, {**webhook, "scheduled_at": at(-3600), "run_now": True})
    assert late["status"] == "pending" and late["next_run_at"] == "2030-01-01T12:00:00.000Z"
    assert late["scheduled_at"] == at(-3600)
    offset = service.create(ALICE, {**webhook, "scheduled_at": "2030-01-01T14:00:05+02:00"})
    assert offset["scheduled_at"] == "2030-01-01T14:00:05+02:00" and offset["next_run_at"] == "2030-01-01T12:00:05.000Z"
    assert offset["history"] == [{"status": "pending", "at": "2030-01-01T12:00:00.000Z"}]


def test_kind_and_payload_are_checked_and_some_kinds_are_for_administrators(store):
    service = World(store, KINDS, Clock()).service
    base = {"name": "x", "scheduled_at": at(60)}
    with pytest.raises(ValidationFailed) as unknown:
        service.create(ALICE, {**base, "kind": "mine-bitcoin"})
    assert "unknown kind" in problems(unknown.value)["$.kind"]
    with pytest.raises(ValidationFailed) as missing:
        service.create(ALICE, {**base, "kind": "webhook", "payload": {"url": 7, "extra": 1}})
    assert set(problems(missing.value)) == {"$.payload", "$.payload.url"}
    with pytest.raises(ValidationFailed) as private:
        service.create(ALICE, {**base, "kind": "webhook", "payload": {"url": "http://169.254.169.254/latest"}})
    assert "not a public address" in problems(private.value)["$.payload.url"]
    with pytest.raises(ValidationFailed) as reserved:
        service.create(
            ALICE, {**base, "kind": "webhook", "payload": {"url": "https://h.example/", "headers": {"Host": "x"}}}
        )
    assert "set by the platform" in problems(reserved.value)["$.payload.headers.Host"]
    with pytest.raises(Forbidden):
        service.create(ALICE, {**base, "kind": "reindex"})
    assert service.create(ADMIN, {**base, "kind": "reindex", "payload": {"type": "plan"}})["status"] == "pending"


def test_a_task_without_a_kind_records_that_it_ran(store):
    # The tasks seed's body is {"name", "scheduled_at"}.
    world = World(store, KINDS, Clock())
    task = world.service.create(ALICE, {"name": "nightly", "scheduled_at": at(5)})
    assert task["kind"] == "record" and task["payload"] == {}
    world.dispatcher.dispatch(task["id"])
    message, _ = world.queue.pop()
    world.clock.advance(5)
    assert world.worker.handle(message) == "completed"
    result = world.status(task["id"])["result"]
    assert result["task"] == "nightly" and result["attempt"] == 1 and result["ran_at"].endswith("Z")


def test_completed_and_failed_tasks_are_published_once_per_transition(monkeypatch):
    from chalicelib.tasks import handlers

    published: list[dict[str, Any]] = []
    monkeypatch.setattr(handlers.events, "publish_many", lambda batch: published.extend(batch) or set())

    def record(seq: str, old: str, new: str, **fields: Any) -> DynamoDBRecord:
        """Chalice's record of a stream record in Lambda's shape."""
        image = {"task_id": {"S": "t1"}, "owner_id": {"S": "u1"}, "name": {"S": "n"}, "kind": {"S": "record"}}
        image |= {"attempts": {"N": "1"}, "finished_at": {"N": "1893499205000"}, **fields}
        stream = {
            "ApproximateCreationDateTime": 1893499205,
            "Keys": {"task_id": {"S": "t1"}},
            "SequenceNumber": seq,
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "OldImage": {**image, "status": {"S": old}},
            "NewImage": {**image, "status": {"S": new}},
        }
        arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tasks/stream/1"
        raw = {"eventID": f"e{seq}", "eventName": "MODIFY", "awsRegion": "us-east-1", "eventSourceARN": arn}
        return DynamoDBRecord({**raw, "dynamodb": stream}, None)

    batch = [
        record("1", "queued", "running"),
        record("2", "running", "completed", result={"S": '{"ok": true}'}),
        record("3", "completed", "completed"),
        record("4", "running", "failed", last_error={"S": "boom"}),
    ]
    assert handlers.publish_task_outcomes.func(batch) == {"batchItemFailures": []}
    assert [(e["type"], e["data"].get("result"), e["data"].get("last_error")) for e in published] == [
        ("task.completed", {"ok": True}, None),
        ("task.failed", None, "boom"),
    ]
    assert published[0]["data"]["finished_at"] == "2030-01-01T12:00:05.000Z"
    again: list[dict[str, Any]] = []
    monkeypatch.setattr(handlers.events, "publish_many", lambda b: again.extend(b) or {b[0]["id"]})
    # A redelivered record republishes the same event id; a refused one retries from there.
    assert handlers.publish_task_outcomes.func(batch) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert again[0]["id"] == published[0]["id"]


# -- the lifecycle --------------------------------------------------------------------------


def test_a_task_goes_pending_queued_running_completed_on_time(world, calls):
    task = world.create(in_s=5, payload={"n": 1})
    assert world.dispatcher.due_soon(T0 * 1000 + 5000)
    assert world.dispatcher.dispatch(task["id"]) is True
    assert world.dispatcher.dispatch(task["id"]) is False
    message, delay = world.queue.pop()
    assert delay == 5 and world.status(task["id"])["status"] == "queued"

    # SQS delivers up to a second early (whole-second delays): the worker waits out the rest.
    world.clock.advance(4.6)
    assert world.worker.handle(message) == "completed"
    assert world.slept == [pytest.approx(0.4)]
    done = world.status(task["id"])
    assert [h["status"] for h in done["history"]] == ["pending", "queued", "running", "completed"]
    assert done["started_at"] == "2030-01-01T12:00:05.000Z" and done["attempts"] == 1
    assert done["result"] == {"echo": {"n": 1}} and done["next_run_at"] is None
    assert calls.runs == [(task["id"], 1)]

    # The same message again (SQS delivers at least once) finds nothing to do.
    assert world.worker.handle(message) == "skipped"
    assert len(calls.runs) == 1


def test_a_message_that_arrives_too_early_goes_back_with_the_time_left(world, calls):
    task = world.create(in_s=30)
    world.dispatcher.dispatch(task["id"])
    message, _ = world.queue.pop()
    world.clock.advance(10)
    assert world.worker.handle(message) == "deferred"
    assert world.queue.sent == [(message, 20)] and calls.runs == []
    assert world.status(task["id"])["status"] == "queued"


# -- cancelling, and the race with the worker ---------------------------------------------------


def test_a_cancelled_task_never_runs_even_with_its_message_on_the_way(world, calls):
    task = world.create()
    world.dispatcher.dispatch(task["id"])
    message, _ = world.queue.pop()
    with pytest.raises(NotFound):
        world.service.cancel(BOB, task["id"])
    assert world.service.cancel(ALICE, task["id"])["status"] == "cancelled"
    world.clock.advance(5)
    assert world.worker.handle(message) == "skipped"
    assert calls.runs == []
    with pytest.raises(Conflict, match="cancelled"):
        world.service.cancel(ALICE, task["id"])
    pending = world.create()
    assert world.service.cancel(ADMIN, pending["id"])["status"] == "cancelled"


def test_a_running_task_cannot_be_cancelled(store, calls):
    outcomes = []

    def cancel_self(payload: dict[str, Any], run: Run) -> Any:
        try:
            world.service.cancel(ALICE, run.task_id)
        except Conflict as exc:
            outcomes.append(exc.detail)
        return "ran"

    world = World(store, {"self-cancel": Kind("self-cancel", cancel_self, {"type": "object"}, "")}, Clock())
    task = world.create(in_s=0, kind="self-cancel")
    world.dispatcher.dispatch(task["id"])
    assert world.worker.handle(world.queue.pop()[0]) == "completed"
    assert outcomes == ["The task is running; only a pending or queued task can be cancelled"]


def test_cancel_and_worker_racing_on_the_same_tasks_never_both_win(store, kinds, calls):
    import time

    world = World(store, kinds, time.time)
    tasks = [world.create(in_s=0, run_now=True) for _ in range(20)]
    for task in tasks:
        world.dispatcher.dispatch(task["id"])
    messages = {m["task_id"]: m for m, _ in world.queue.sent}
    cancelled: dict[str, bool] = {}

    def cancel(task_id: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            world.service.cancel(ALICE, task_id)
            cancelled[task_id] = True
        except Conflict:
            cancelled[task_id] = False

    def work(task_id: str, start: threading.Barrier) -> None:
        start.wait()
        world.worker.handle(messages[task_id])

    threads = []
    for task in tasks:
        start = threading.Barrier(2)
        threads += [
            threading.Thread(target=cancel, args=(task["id"], start)),
            threading.Thread(target=work, args=(task["id"], start)),
        ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ran = [task_id for task_id, _ in calls.runs]
    for task in tasks:
        final = world.status(task["id"])["status"]
        if cancelled[task["id"]]:
            assert final == "cancelled" and task["id"] not in ran
        else:
            assert final == "completed" and ran.count(task["id"]) == 1
    assert len(ran) == len(set(ran))


# -- failures --------------------------------------------------------------------------------


def test_retries_back_off_until_the_attempts_run_out(world, calls):
    task = world.create(in_s=0, kind="flaky")
    world.dispatcher.dispatch(task["id"])
    message, _ = world.queue.pop()
    first_message = message
    outcomes, delays = [], []
    while True:
        outcome = world.worker.handle(message)
        outcomes.append(outcome)
        if outcome != "retrying":
            break
        message, delay = world.queue.pop()
        delays.append(delay)
        world.clock.advance(delay)
    assert outcomes == ["retrying", "retrying", "failed"]
    # base 10 s × 2^(attempt-1), the jitter here at its top.
    assert delays == [10, 20]
    failed = world.status(task["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 3 and failed["max_attempts"] == 3
    assert failed["last_error"] == "RuntimeError: boom 3" and failed["finished_at"] is not None
    assert [h["status"] for h in failed["history"]] == [
        "pending",
        "queued",
        "running",
        "queued",
        "running",
        "queued",
        "running",
        "failed",
    ]
    # A retry has its own dispatch: the first message, delivered again, starts nothing.
    assert world.worker.handle(first_message) == "skipped"
    assert [attempt for _, attempt in calls.runs] == [1, 2, 3]


def test_a_task_that_fails_once_completes_on_its_second_attempt(world):
    task = world.create(in_s=0, kind="flaky", payload={"failures": 1})
    world.dispatcher.dispatch(task["id"])
    assert world.worker.handle(world.queue.pop()[0]) == "retrying"
    message, delay = world.queue.pop()
    world.clock.advance(delay)
    assert world.worker.handle(message) == "completed"
    done = world.status(task["id"])
    assert done["attempts"] == 2 and done["result"] == "finally" and done["last_error"] == "RuntimeError: boom 1"


def test_a_permanent_failure_is_not_retried(world, calls):
    task = world.create(in_s=0, kind="broken")
    world.dispatcher.dispatch(task["id"])
    assert world.worker.handle(world.queue.pop()[0]) == "failed"
    assert world.status(task["id"])["last_error"] == "Permanent: cannot ever work"
    assert len(calls.runs) == 1 and world.queue.sent == []


def test_a_run_over_the_time_limit_is_a_failed_attempt(store, kinds):
    world = World(store, kinds, Clock(), time_limit_s=1)
    task = world.create(in_s=0, kind="slow")
    world.dispatcher.dispatch(task["id"])
    assert world.worker.handle(world.queue.pop()[0]) == "retrying"
    assert world.status(task["id"])["last_error"] == "TimeLimit: no result within 1 s"


# -- the sweep -------------------------------------------------------------------------------


def test_the_sweep_dispatches_what_is_due_before_its_next_run(world):
    soon, later, far = (world.create(in_s=s) for s in (30, 119, 200))
    assert world.dispatcher.sweep(world.worker)["dispatched"] == 2
    assert {m["task_id"] for m, _ in world.queue.sent} == {soon["id"], later["id"]}
    assert world.status(far["id"])["status"] == "pending"
    # Sweeping again finds them claimed.
    assert world.dispatcher.sweep(world.worker)["dispatched"] == 0


def test_the_sweep_replaces_a_lost_message_and_expires_a_dead_worker(world, calls):
    lost = world.create(in_s=1)
    world.dispatcher.dispatch(lost["id"])
    old_message, _ = world.queue.pop()
    world.clock.advance(200)
    assert world.dispatcher.sweep(world.worker)["redispatched"] == 1
    new_message, delay = world.queue.pop()
    assert delay == 0 and new_message["dispatch_id"] != old_message["dispatch_id"]
    assert world.worker.handle(old_message) == "skipped"
    assert world.worker.handle(new_message) == "completed"

    # A worker that claimed a task and died: past its lease the attempt counts as failed.
    orphan = world.create(in_s=0)
    world.dispatcher.dispatch(orphan["id"])
    message, _ = world.queue.pop()
    now = int(world.clock() * 1000)
    world.store.start(orphan["id"], message["dispatch_id"], now, now + 35_000)
    world.clock.advance(36)
    assert world.dispatcher.sweep(world.worker)["expired"] == 1
    retried = world.status(orphan["id"])
    assert retried["status"] == "queued" and retried["attempts"] == 1 and retried["last_error"].startswith("WorkerLost")
    assert len(world.queue.sent) == 1


def test_a_send_that_fails_gives_the_task_back_to_the_sweep(store, kinds):
    from chalicelib.tasks.service import Dispatcher, Timing

    def refuse(message: dict[str, str], delay_s: int) -> None:
        raise ConnectionError("SQS is down")

    world = World(store, kinds, Clock())
    task = world.create()
    dispatcher = Dispatcher(store, refuse, Timing(3, 10, 5), clock=world.clock)
    with pytest.raises(RuntimeError, match="could not be sent"):
        dispatcher.dispatch(task["id"])
    assert world.status(task["id"])["status"] == "pending"
    assert world.dispatcher.dispatch(task["id"]) is True


# -- reading ---------------------------------------------------------------------------------


def test_owners_list_their_tasks_newest_first_by_status_and_page(world):
    created = []
    for _ in range(5):
        created.append(world.create())
        world.clock.advance(1)
    other = world.create(BOB)
    world.service.cancel(ALICE, created[1]["id"])

    seen, cursor = [], None
    while True:
        page = world.service.list(ALICE, None, 2, cursor)
        seen += [task["id"] for task in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [task["id"] for task in reversed(created)]
    assert [t["id"] for t in world.service.list(ALICE, "cancelled", 10, None).items] == [created[1]["id"]]
    with pytest.raises(NotFound):
        world.service.get(ALICE, other["id"])
    assert world.service.status(BOB, other["id"])["status"] == "pending"
    for status, limit, cursor, reason in (
        ("done", 10, None, "status must be one of"),
        (None, 0, None, "limit must be between"),
        (None, 10, "bm90LWEtY3Vyc29y", "not one this API issued"),
    ):
        with pytest.raises(BadRequest, match=reason):
            world.service.list(ALICE, status, limit, cursor)


def test_the_time_limit_must_end_before_the_queue_could_deliver_again(monkeypatch):
    from chalicelib.config import ConfigError
    from chalicelib.tasks import container

    monkeypatch.setenv("TASKS_TIME_LIMIT_S", "900")
    monkeypatch.setenv("TASKS_RETRY_BACKOFF_S", "2")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="TASKS_TIME_LIMIT_S: must be <= 840"):
            container.timing(get_settings())
        monkeypatch.setenv("TASKS_TIME_LIMIT_S", "840")
        get_settings.cache_clear()
        timing = container.timing(get_settings())
        assert (timing.time_limit_s, timing.retry_backoff_s) == (840, 2)
    finally:
        get_settings.cache_clear()


def test_a_task_redispatched_between_the_workers_read_and_its_start_runs_once_under_the_new_dispatch(world, calls):
    task = world.create(in_s=0.5)
    world.dispatcher.dispatch(task["id"])
    first, _ = world.queue.pop()
    redispatched = []

    def redispatch_while_waiting(seconds: float) -> None:
        # The worker has read the task (queued under the first dispatch) and waits out the last
        # half second; meanwhile the sweep, taking the message for lost, dispatches it again.
        world.clock.advance(seconds)
        redispatched.append(world.dispatcher.dispatch(task["id"], superseding=first["dispatch_id"]))

    world.worker.sleep = redispatch_while_waiting
    assert world.worker.handle(first) == "skipped"
    assert redispatched == [True]
    second, _ = world.queue.pop()
    assert second["dispatch_id"] != first["dispatch_id"]
    assert world.worker.handle(second) == "completed"
    assert calls.runs == [(task["id"], 1)]
