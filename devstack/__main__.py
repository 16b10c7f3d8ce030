"""`python -m devstack` (what `make run` runs): start the local cloud and serve until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

from chalicelib import jsonlog
from chalicelib.config import ConfigError
from devstack.cloud import CloudOptions, LocalCloud
from devstack.state.journal import CorruptState
from devstack.state.store import DataFolderInUse

READY_MARKER = "DEVSTACK_READY"


def banner(cloud: LocalCloud, seconds: float) -> str:
    rows = dict(cloud.endpoints())
    rows["state"] = state_line(cloud)
    if cloud.certificate is not None:
        rows["certificate"] = f"{cloud.certificate}  (self-signed: curl -k, or --cacert this file)"
    if cloud.reloader is not None:
        rows["reload"] = "on: chalicelib/ and the app module reload when they change"
    width = max(len(name) for name in rows)
    lines = [f"  {name.ljust(width)}  {value}" for name, value in rows.items()]
    return "\n".join([f"Local cloud ready in {seconds:.1f} s:", *lines, "Ctrl-C stops everything."])


def state_line(cloud: LocalCloud) -> str:
    if cloud.store is None:
        return "in memory only (DEVSTACK_EPHEMERAL): nothing is kept"
    restored = cloud.restored
    line = f"{cloud.folder.state}  (make reset or FRESH=1 starts empty)"
    if restored.records:
        line += (
            f"\n{'':14}restored {restored.items} items, {restored.messages} queued messages and "
            f"{restored.emails} emails in {restored.seconds:.1f} s"
        )
    if cloud.search_rebuild is not None:
        line += (
            f"\n{'':14}search indexes rebuilding from the tables: searches are incomplete, and events wait,"
            f"\n{'':14}until `search indexes rebuilt` is logged"
        )
    return line


def main() -> int:
    started = time.perf_counter()
    try:
        options = CloudOptions.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    jsonlog.configure("INFO")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        cloud = LocalCloud(options).start()
    except DataFolderInUse as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except CorruptState as exc:
        hint = "Move the data folder aside to keep it, or start empty with FRESH=1."
        print(f"cannot start: {exc}\n{hint}", file=sys.stderr)
        return 2
    try:
        print(banner(cloud, time.perf_counter() - started), file=sys.stderr, flush=True)
        # One machine-readable line for scripts and test fixtures that start the stack.
        print(f"{READY_MARKER} {json.dumps(cloud.endpoints())}", flush=True)
        stop.wait()
    finally:
        print("stopping the local cloud…", file=sys.stderr, flush=True)
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
