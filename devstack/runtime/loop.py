"""A daemon thread that repeats a step until stopped: the base of every poller."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("devstack.runtime")


class Loop:
    def __init__(self, name: str, interval_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                # A poller must outlive a flaky backend: log, back off, go on.
                log.exception("poller step failed", extra={"poller": self.name})
                self._stop.wait(1.0)
            self.pause()

    def pause(self) -> None:
        """Between two steps; a poller that can tell when there is new work overrides this."""
        self._stop.wait(self.interval_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        self.request_stop()
        self.join(timeout_s)

    def request_stop(self) -> None:
        """Ask the loop to end after its current step (a long poll, an invocation)."""
        self._stop.set()

    def join(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()
