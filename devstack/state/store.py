"""The data folder and the state kept in it: restore at start, journal while running, compact.

Only one local cloud may use a data folder at a time: `lock` is held (flock) while it runs,
and the kernel drops it when the process dies, kill -9 included.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from devstack import moto_serial, state
from devstack.state import dynamodb, events, secretsmanager, ses, sqs
from devstack.state.journal import CorruptState, Journal, encode, fsync_directory, read
from devstack.state.recorder import recorder

log = logging.getLogger("devstack.state")

_FILE = re.compile(r"^(snapshot|journal)-(\d{6})\.ndjson$")
COMPACT_CHECK_S = 5.0


class DataFolderInUse(RuntimeError):
    pass


class DataFolder:
    """`<root>/state` (snapshots, journals), `<root>/tls` (the HTTPS certificate), `<root>/lock`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state"
        self.tls = root / "tls"
        self._lock_file: Any = None

    def lock(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_file = (self.root / "lock").open("a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            self._lock_file.close()
            raise DataFolderInUse(
                f"{self.root} is in use by a running local cloud (pid {holder}); stop it, "
                "or give this one its own DEVSTACK_DATA_DIR"
            ) from None
        self._lock_file.truncate(0)
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def reset(self) -> None:
        """Forget the kept state (the certificate stays). The caller holds the lock."""
        shutil.rmtree(self.state, ignore_errors=True)


@dataclass
class Restored:
    snapshot: int | None = None
    journals: list[int] = field(default_factory=list)
    records: int = 0
    items: int = 0
    messages: int = 0
    emails: int = 0
    redelivered: int = 0
    seconds: float = 0.0
    # Schedule name → {"expression", "next_fire"}: when each rule was due to fire next.
    schedules: dict[str, dict[str, str]] = field(default_factory=dict)
    # Records of data that lives in OpenSearch only, to put back once OpenSearch runs.
    search: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "journals": self.journals,
            "records": self.records,
            "items": self.items,
            "messages": self.messages,
            "emails": self.emails,
            "redelivered": self.redelivered,
            "seconds": round(self.seconds, 3),
        }


class _Restorer(Protocol):
    """What replays the records of some kinds (each service's Restorer, and _Kept)."""

    @property
    def kinds(self) -> tuple[str, ...]: ...

    def apply(self, record: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...


class _Kept:
    """Records that are not moto's: schedule timings and the OpenSearch-only data."""

    kinds = ("schedules", "search.index", "search.docs")

    def __init__(self, restored: Restored) -> None:
        self.restored = restored

    def apply(self, record: dict[str, Any]) -> None:
        if record["k"] == "schedules":
            self.restored.schedules = record["timings"]
        else:
            self.restored.search.append(record)

    def finish(self) -> None:
        pass


def _files(directory: Path) -> dict[str, dict[int, Path]]:
    found: dict[str, dict[int, Path]] = {"snapshot": {}, "journal": {}}
    for path in directory.iterdir() if directory.is_dir() else ():
        match = _FILE.match(path.name)
        if match:
            found[match.group(1)][int(match.group(2))] = path
    return found


class StateStore:
    def __init__(
        self, folder: DataFolder, sync_interval_s: float | None = None, compact_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.folder = folder
        self.sync_interval_s = sync_interval_s
        self.compact_bytes = compact_bytes
        self.restored = Restored()
        self.timings: dict[str, dict[str, str]] = {}
        self._generation = 0
        # Bytes of the journals a restore would replay before the current one.
        self._replayed_bytes = 0
        self._compacting = threading.Lock()
        self._stop = threading.Event()
        self._compactor: threading.Thread | None = None

    def _path(self, kind: str, generation: int) -> Path:
        return self.folder.state / f"{kind}-{generation:06d}.ndjson"

    # -- start ------------------------------------------------------------------------------

    def open(self, redeliver: frozenset[str] = frozenset()) -> Restored:
        """Rebuild moto's state from the folder, then record every change from here on."""
        started = time.perf_counter()
        self.folder.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = _files(self.folder.state)
        base = max(files["snapshot"], default=0)
        # Left behind by a compaction that was interrupted: superseded files, a half-written snapshot.
        for generations in files.values():
            for generation in [g for g in generations if g < base]:
                generations.pop(generation).unlink()
        for partial in self.folder.state.glob("*.partial"):
            partial.unlink()
        restored = self.restored = Restored(snapshot=base or None)
        sqs_restorer = sqs.Restorer(redeliver)
        ddb_restorer, ses_restorer = dynamodb.Restorer(), ses.Restorer()
        restorers: list[_Restorer] = [
            ddb_restorer,
            sqs_restorer,
            secretsmanager.Restorer(),
            events.Restorer(),
            ses_restorer,
        ]
        by_kind: dict[str, _Restorer] = {kind: r for r in [*restorers, _Kept(restored)] for kind in r.kinds}
        sources = ([files["snapshot"][base]] if base else []) + [files["journal"][g] for g in sorted(files["journal"])]
        try:
            for source in sources:
                for record in read(source):
                    if record["k"] not in by_kind:
                        raise CorruptState(f"{source}: a record of unknown kind {record['k']!r}")
                    by_kind[record["k"]].apply(record)
                    restored.records += 1
        finally:
            for restorer in by_kind.values():
                restorer.finish()
        restored.journals = sorted(files["journal"])
        restored.items = ddb_restorer.count()
        restored.messages, restored.redelivered = sqs_restorer.messages, sqs_restorer.redelivered
        restored.emails = ses_restorer.sent
        self.timings = dict(restored.schedules)
        self._replayed_bytes = sum(path.stat().st_size for path in files["journal"].values())
        self._generation = max([*files["snapshot"], *files["journal"]], default=0) + 1
        recorder.swap(Journal(self._path("journal", self._generation), self.sync_interval_s))
        restored.seconds = time.perf_counter() - started
        return restored

    # -- while running ----------------------------------------------------------------------

    def record_timings(self, timings: dict[str, dict[str, str]]) -> None:
        """When each schedule fires next (the runtime calls this whenever that changes)."""
        with recorder.lock:
            self.timings = dict(timings)
            recorder.append({"k": "schedules", "timings": self.timings}, durable=False)

    @property
    def journal_bytes(self) -> int:
        """What a restart would replay on top of the snapshot."""
        journal = recorder.journal
        return self._replayed_bytes + (journal.bytes if journal is not None else 0)

    def compact(self, extra: Callable[[], Iterable[dict[str, Any]]] | None = None) -> None:
        """Write a snapshot of the state as of now and drop what it supersedes. Writers wait only
        while the state is copied into records; the file is written while they carry on."""
        with self._compacting:
            with moto_serial.quiesced(), recorder.lock:
                generation = self._generation + 1
                previous = recorder.swap(Journal(self._path("journal", generation), self.sync_interval_s))
                records = [*state.export(), {"k": "schedules", "timings": self.timings}]
                self._generation, self._replayed_bytes = generation, 0
            if previous is not None:
                previous.close()
            if extra is not None:
                records.extend(extra())
            self._write_snapshot(generation, records)
            for generations in _files(self.folder.state).values():
                for old in [path for g, path in generations.items() if g < generation]:
                    old.unlink()
            log.info("state compacted", extra={"snapshot": generation, "records": len(records)})

    def _write_snapshot(self, generation: int, records: list[dict[str, Any]]) -> None:
        final = self._path("snapshot", generation)
        partial = final.with_suffix(".partial")
        with partial.open("wb") as out:
            for record in records:
                out.write(encode(record))
            out.flush()
            os.fsync(out.fileno())
        partial.rename(final)
        fsync_directory(final.parent)

    def compact_when_large(self, extra: Callable[[], Iterable[dict[str, Any]]] | None = None) -> None:
        """From now on, compact in the background whenever the journals outgrow `compact_bytes`."""

        def watch() -> None:
            while not self._stop.wait(COMPACT_CHECK_S):
                if self.journal_bytes > self.compact_bytes:
                    try:
                        self.compact(extra)
                    except Exception:
                        log.exception("compaction failed; the journal keeps every change")

        self._compactor = threading.Thread(target=watch, name="state-compactor", daemon=True)
        self._compactor.start()

    # -- stop -------------------------------------------------------------------------------

    def close(self, extra: Callable[[], Iterable[dict[str, Any]]] | None = None) -> None:
        """A clean stop: one last snapshot (the next start replays nothing), then stop recording."""
        self._stop.set()
        if self._compactor is not None:
            self._compactor.join()
        try:
            self.compact(extra)
        except Exception:
            log.exception("the final snapshot failed; the journal still holds every change")
        self.abandon()

    def abandon(self) -> None:
        """Stop recording without a snapshot (a start that failed): the journal keeps what it has."""
        self._stop.set()
        journal = recorder.swap(None)
        if journal is not None:
            journal.close()
