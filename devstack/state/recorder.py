"""Where the hooks in moto put what changed: the journal, while the stack is recording.

One recorder for the process, because moto's backends are process-wide. `lock` orders every
change with its record: a hook holds it while it changes moto's state *and* appends the record,
so the journal's order is the order of the changes, and a compaction that holds it (and the
embedded DynamoDB's request lock) sees a state that matches a point in the journal exactly.

A request that appended a durable record waits, before moto answers it, until the record is on
disk (`wait()`): that is the moment a write becomes acknowledged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from devstack.state.journal import Journal


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.journal: Journal | None = None
        self._pending = threading.local()

    @property
    def recording(self) -> bool:
        return self.journal is not None

    def append(self, record: dict[str, Any], durable: bool = True) -> None:
        """Journal one change; with `durable`, the current request answers only once it is on disk."""
        with self.lock:
            if self.journal is None:
                return
            journal, ticket = self.journal, self.journal.append(record)
        if durable:
            # By journal: a compaction may switch journals between two records of one request.
            pending = self._pending.__dict__.setdefault("tickets", {})
            pending[journal] = ticket

    def wait(self) -> None:
        """Block until what this thread journaled is on disk (a no-op when it journaled nothing)."""
        pending = self._pending.__dict__.pop("tickets", {})
        for journal, ticket in pending.items():
            journal.wait(ticket)

    def swap(self, journal: Journal | None) -> Journal | None:
        """Record into `journal` from now on; returns the previous one (the caller closes it)."""
        with self.lock:
            previous, self.journal = self.journal, journal
            return previous


recorder = Recorder()


Records = Callable[[], list[dict[str, Any]]]


def recorded_requests(response_class: Any, recorded: Callable[[str], bool], changes: Callable[[Any], Records]) -> None:
    """Journal the requests of a moto service whose action `recorded(action)` accepts: under the
    recorder's lock, `changes(handler)` is called before the request runs and the function it
    returns after, if the request succeeded, to give the records. No request of the service is
    answered before what it journaled (here or in a model hook) is on disk."""
    call_action = response_class.call_action
    if getattr(call_action, "journaled", False):
        return

    @functools.wraps(call_action)
    def journaled(self: Any) -> Any:
        if not recorder.recording or not recorded(self._get_action()):
            result = call_action(self)
        else:
            with recorder.lock:
                records = changes(self)
                result = call_action(self)
                if result[0] == 200:
                    for record in records():
                        recorder.append(record)
        recorder.wait()
        return result

    journaled.journaled = True  # type: ignore[attr-defined]  # the mark that makes patching twice a no-op
    response_class.call_action = journaled


def whole_region(record_of: Callable[[str], dict[str, Any]]) -> Callable[[Any], Records]:
    """`changes` for a service recorded whole: the region's record, after the request."""
    return lambda handler: lambda: [record_of(handler.region)]
