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

READY_MARKER = "DEVSTACK_READY"


def banner(endpoints: dict[str, str], seconds: float) -> str:
    width = max(len(name) for name in endpoints)
    lines = [f"  {name.ljust(width)}  {url}" for name, url in endpoints.items()]
    return "\n".join([f"Local cloud ready in {seconds:.1f} s:", *lines, "Ctrl-C stops everything."])


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
    cloud = LocalCloud(options).start()
    try:
        print(banner(cloud.endpoints(), time.perf_counter() - started), file=sys.stderr, flush=True)
        # One machine-readable line for scripts and test fixtures that start the stack.
        print(f"{READY_MARKER} {json.dumps(cloud.endpoints())}", flush=True)
        stop.wait()
    finally:
        print("stopping the local cloud…", file=sys.stderr, flush=True)
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
