"""Start `python -m devstack` as a child process on free ports, as a user's `make run` would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_MARKER = "DEVSTACK_READY"


@dataclass
class Stack:
    process: subprocess.Popen
    endpoints: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def logs(self, message: str | None = None) -> list[dict[str, Any]]:
        """The stack's JSON log lines so far, optionally only those with this message."""
        entries = []
        for line in list(self.lines):
            if line.startswith("{"):
                entry = json.loads(line)
                if message is None or entry.get("message") == message:
                    entries.append(entry)
        return entries

    def aws(self, service: str) -> Any:
        """A boto3 client of the stack's moto server, with the dummy credentials it accepts."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoints["aws"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until every stream handler has been given every write made so far: the barrier
        between a write and what its stream handler does (indexing, invalidation, events)."""

        def caught_up() -> bool:
            with urllib.request.urlopen(self.endpoints["control"], timeout=10) as response:
                return json.load(response)["runtime"]["streams_caught_up"]

        wait_for(caught_up, timeout_s=timeout_s, interval_s=0.02)

    def kill(self) -> int:
        """kill -9 the whole stack: this process group (the stack, osmem, redis-server) at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_stack(extra_env: dict[str, str] | None = None, timeout_s: float = 90.0, process_group: bool = False) -> Stack:
    """A stack of its own. It keeps nothing on disk and ignores code changes unless `extra_env`
    asks (DEVSTACK_EPHEMERAL=false with a DEVSTACK_DATA_DIR of the test's own, DEVSTACK_RELOAD=
    true). With `process_group` it leads a process group of its own, which `kill()` needs; the
    default leaves it in the test run's group, so a Ctrl-C of the run stops it too."""
    env = {
        **os.environ,
        "PORT": "0",
        "DEVSTACK_AWS_PORT": "0",
        "DEVSTACK_OPENSEARCH_PORT": "0",
        "DEVSTACK_REDIS_PORT": "0",
        "DEVSTACK_EPHEMERAL": "true",
        "DEVSTACK_RELOAD": "false",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    for inherited in ("AWS_ENDPOINT_URL", "OPENSEARCH_URL", "REDIS_URL"):
        if inherited not in (extra_env or {}):
            env.pop(inherited, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=process_group,
    )
    stack = Stack(process)
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(READY_MARKER):
                stack.endpoints = json.loads(line[len(READY_MARKER) :])
                ready.set()
            else:
                stack.lines.append(line)
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(timeout_s) or not stack.endpoints:
        stack.stop()
        raise RuntimeError("the local cloud did not start:\n" + "\n".join(stack.lines[-40:]))
    return stack


def durable_stack(data: Path, admin: dict[str, str], timeout_s: float = 90.0) -> Stack:
    """A stack that keeps its state in `data` (a folder of the caller's own), with cheap password
    hashing and `admin` as its administrator, leading its own process group so that `kill()`
    is a kill -9 of the whole stack."""
    env = {
        "DEVSTACK_EPHEMERAL": "false",
        "DEVSTACK_DATA_DIR": str(data),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "16",
        "ADMIN_USERNAME": admin["username"],
        "ADMIN_PASSWORD": admin["password"],
    }
    return start_stack(env, timeout_s=timeout_s, process_group=True)


def wait_for(predicate, timeout_s: float = 10.0, interval_s: float = 0.05):
    """Poll until `predicate()` returns something truthy; return it, or fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)
