"""An append-only file of JSON records, one per line, made durable in groups.

`append()` writes a record (records land in the order of the calls) and returns a ticket;
`wait(ticket)` returns once that record is on disk. Writers that wait at the same time share
one fdatasync: the first to arrive syncs everything written so far, and the others find their
ticket covered when it returns (group commit). So a burst of concurrent writes costs one sync,
not one each, and nobody waits for a sync that started before their own record was written.

A crash can leave the last line torn (no newline). `read()` ignores such a tail: its writer never
returned from `wait()`, so nothing it wrote was acknowledged. Any other line that does not parse
is damage, and `read()` refuses to go on rather than start from a state nobody had.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class CorruptState(RuntimeError):
    """A complete line of a state file does not parse: the file was damaged, not torn by a crash."""


def encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a journal or snapshot file, in order, without a torn last line."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.endswith(b"\n"):
                return
            try:
                yield json.loads(line)
            except ValueError:
                raise CorruptState(f"{path}: line {number} is not a JSON record") from None


def fsync_directory(directory: Path) -> None:
    """Make a file's creation or rename in `directory` durable, not only its contents."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Journal:
    """With `sync_interval_s` None, `wait()` returns once the record is on disk. With an interval,
    `wait()` returns at once (the record is in the kernel's page cache, which no process crash,
    kill -9 included, can lose) and a background thread syncs whatever was written, every
    interval: a crash of the machine itself loses at most the last interval's records."""

    def __init__(self, path: Path, sync_interval_s: float | None = None) -> None:
        self.path = path
        self.sync_interval_s = sync_interval_s
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync_directory(path.parent)
        self.bytes = os.fstat(self._fd).st_size
        self._write_lock = threading.Lock()
        self._synced_changed = threading.Condition()
        self._written = 0
        self._synced = 0
        self._syncing = False
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        if sync_interval_s:
            self._flusher = threading.Thread(target=self._flush_every_interval, name="journal-sync", daemon=True)
            self._flusher.start()

    def append(self, record: dict[str, Any]) -> int:
        data = encode(record)
        with self._write_lock:
            line = memoryview(data)
            while line:
                line = line[os.write(self._fd, line) :]
            self._written += 1
            self.bytes += len(data)
            return self._written

    def wait(self, ticket: int) -> None:
        """Return once the record with this ticket is durable, as this journal defines it."""
        if self.sync_interval_s is None:
            self.sync(ticket)

    def sync(self, ticket: int) -> None:
        """Return once the record with this ticket (and every one before it) is on disk."""
        with self._synced_changed:
            while self._synced < ticket:
                if self._syncing:
                    self._synced_changed.wait()
                    continue
                self._syncing = True
                covered = self._written
                self._synced_changed.release()
                try:
                    os.fdatasync(self._fd)
                finally:
                    self._synced_changed.acquire()
                    self._syncing = False
                    self._synced_changed.notify_all()
                self._synced = max(self._synced, covered)

    def _flush_every_interval(self) -> None:
        assert self.sync_interval_s is not None
        while not self._closed.wait(self.sync_interval_s):
            if self._written > self._synced:
                self.sync(self._written)

    def close(self) -> None:
        """Sync what was written and close; waiting on a ticket of a closed journal returns at once."""
        with self._write_lock:
            if self._closed.is_set():
                return
            self._closed.set()
            written = self._written
        if self._flusher is not None:
            self._flusher.join()
        self.sync(written)
        os.close(self._fd)
