"""A context's process-wide instance: built once, on first use, by the builder the application
installed.

Each context has one composition root, `build(settings, clients, **overrides)` in its
container.py, which makes its services from settings, clients and the ports other contexts
provide. The application (chalicelib/composition.py) installs a builder per context that calls
it with those ports; routes and handlers, which Chalice calls with no arguments of ours, reach
the instance through the context's accessor (a Root). Tests build a context themselves, with
fakes for what they replace, or install their own builder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Root(Generic[T]):
    def __init__(self, context: str) -> None:
        self.context = context
        self._builder: Callable[[], T] | None = None
        self._instance: T | None = None
        self._lock = threading.Lock()

    def install(self, builder: Callable[[], T]) -> None:
        """Build with `builder` from now on; an instance built before is dropped."""
        with self._lock:
            self._builder, self._instance = builder, None

    def __call__(self) -> T:
        instance = self._instance
        if instance is None:
            with self._lock:
                if self._instance is None:
                    if self._builder is None:
                        raise RuntimeError(
                            f"the {self.context} context is not wired: the application installs its builder "
                            "(chalicelib.composition.wire)"
                        )
                    self._instance = self._builder()
                instance = self._instance
        return instance
