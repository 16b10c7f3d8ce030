"""A counter that writers bump and pollers sleep on, so a poller wakes when there may be
something to read instead of when its interval runs out.

The embedded DynamoDB (moto, in this process) bumps the table's entry in `stream_writes` after
every request that appended to its stream, which takes a stream record to its handler in
milliseconds rather than up to one poll interval later. Only that table's poller wakes: waking
every poller on every write made each write cost a GetRecords per stream. Pollers still wake
every interval without a bump, so a source nobody bumps (an external endpoint) is polled
exactly as before.
"""

from __future__ import annotations

import threading


class Wakeup:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def notify(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout_s: float) -> int:
        """Block until the count differs from `seen` (a bump since the caller last looked) or
        the timeout passes; return the count now."""
        with self._changed:
            self._changed.wait_for(lambda: self._count != seen, timeout_s)
            return self._count


class Wakeups:
    """One Wakeup per key (a table name), made on first use by whichever side comes first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Wakeup] = {}

    def __getitem__(self, key: str) -> Wakeup:
        with self._lock:
            return self._by_key.setdefault(key, Wakeup())


stream_writes = Wakeups()
