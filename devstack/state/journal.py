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
    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync_directory(path.parent)
        self.bytes = os.fstat(self._fd).st_size
        self._write_lock = threading.Lock()
        self._synced_changed = threading.Condition()
        self._written = 0
        self._synced = 0
        self._syncing = False
        self._closed = False

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
        """Return once the record with this ticket (and every one before it) is on disk."""
        if not self.fsync:
            return
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

    def close(self) -> None:
        """Sync what was written and close; waiting on a ticket of a closed journal returns at once."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            written = self._written
        self.wait(written)
        os.close(self._fd)
