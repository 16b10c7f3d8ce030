"""Code reload: a change under chalicelib/ or to the app module is picked up by the running
stack, without restarting moto, OpenSearch or Redis and without losing a byte of their state.

The app is re-imported in this process: every module loaded from the watched files is dropped
from `sys.modules`, the app is imported afresh (so are they), and the HTTP server and the event
runtime switch to it. Stream and queue pollers whose mapping did not change keep their place,
so no record is delivered twice or skipped across a reload. The devstack modules that hold
names from the dropped modules (the bootstrap, the server's error pages...) are re-executed in
place so that they too call the new code.

If the new code does not import (a syntax error, an exception at import), the old modules are
put back: the previous code keeps serving, and the error is printed.

Why not a fresh worker process: the embedded services, the stream wakeups and the outbox live
in this process (moto runs in a thread), so a worker would need all of them proxied; and the
new code's import is a fraction of a second here, against a second or more for a new
interpreter that imports boto3, chalice and the app again.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger("devstack.reload")

WATCHED_SUFFIXES = (".py", ".json")
Files = dict[Path, tuple[int, int]]


def watched_roots(modules: list[str]) -> list[Path]:
    """Where the code of these modules lives: a package's directory; a top-level module's file
    (app.py, so its neighbours are not watched); a submodule's package directory."""
    roots = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin).resolve()
        if "site-packages" in origin.parts:
            continue
        package = spec.submodule_search_locations is not None or "." in name
        roots.append(origin.parent if package else origin)
    return roots


def scan(roots: list[Path]) -> Files:
    files: Files = {}
    for root in roots:
        candidates = [root] if root.is_file() else root.rglob("*")
        for path in candidates:
            if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
                try:
                    status = path.stat()
                except FileNotFoundError:
                    continue
                files[path] = (status.st_mtime_ns, status.st_size)
    return files


def changed_files(before: Files, after: Files) -> list[Path]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def _is_under(location: str, roots: list[str]) -> bool:
    # String prefixes: resolving the path of each of ~2,000 loaded modules took half a second.
    return any(location == root or location.startswith(root + os.sep) for root in roots)


def _defined_in(value: Any, names: set[str]) -> bool:
    if isinstance(value, ModuleType):
        return value.__name__ in names
    return getattr(value, "__module__", None) in names


def describe_error(error: BaseException) -> dict[str, Any]:
    """Where the new code broke, for the log line."""
    if isinstance(error, SyntaxError):
        return {"type": type(error).__name__, "message": error.msg, "file": error.filename, "line": error.lineno}
    frames = traceback.extract_tb(error.__traceback__)
    where = frames[-1] if frames else None
    return {
        "type": type(error).__name__,
        "message": str(error)[:500],
        "file": where.filename if where else None,
        "line": where.lineno if where else None,
    }


class CodeReloader:
    """Watches `roots`; on a change, re-imports and hands the new app to `load`, which returns
    what to log about the switch (it raises if the new code cannot serve)."""

    def __init__(self, roots: list[Path], load: Callable[[], dict[str, Any]], poll_s: float = 0.5) -> None:
        self.roots = [root.resolve() for root in roots]
        self.load = load
        self.poll_s = poll_s
        # Taken now, before the app is imported: a change made while the stack starts is seen.
        self._seen = scan(self.roots)
        self.generation = 0
        self.last: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="code-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def status(self) -> dict[str, Any]:
        return {"watching": [str(r) for r in self.roots], "generation": self.generation, "last": self.last}

    def _watch(self) -> None:
        seen = self._seen
        while not self._stop.wait(self.poll_s):
            now = scan(self.roots)
            if now == seen:
                continue
            # An editor may write a file in several steps: wait until the files hold still.
            while not self._stop.wait(0.1) and (settled := scan(self.roots)) != now:
                now = settled
            changed, seen = changed_files(seen, now), now
            try:
                self.reload(changed)
            except Exception:
                log.exception("code reload crashed; the previous code keeps serving")

    def _owned(self) -> dict[str, ModuleType]:
        """The loaded modules whose code is in the watched files."""
        roots = [str(root) for root in self.roots]
        owned = {}
        for name, module in list(sys.modules.items()):
            location = getattr(module, "__file__", None)
            if location and _is_under(os.path.abspath(location), roots):
                owned[name] = module
        return owned

    def _dependents(self, owned: dict[str, ModuleType]) -> list[ModuleType]:
        """devstack's modules that hold names from the watched modules, most recently imported
        first (so a module is re-executed after those it imports names from)."""
        names = set(owned)
        dependents = [
            module
            for name, module in list(sys.modules.items())
            if name.startswith("devstack") and name not in names and module is not None
            if any(_defined_in(value, names) for value in vars(module).values())
        ]
        return dependents[::-1]

    def reload(self, changed: list[Path]) -> bool:
        """Switch to the code on disk now; False (and the old code stays) if it cannot serve."""
        with self._lock:
            started = time.perf_counter()
            old = self._owned()
            dependents = self._dependents(old)
            for name in old:
                del sys.modules[name]
            importlib.invalidate_caches()
            relative = [_relative(path) for path in changed]
            try:
                for module in dependents:
                    importlib.reload(module)
                summary = self.load()
            except (Exception, SystemExit) as error:
                for name in self._owned():
                    del sys.modules[name]
                sys.modules.update(old)
                for module in dependents:
                    importlib.reload(module)
                self.last = {"ok": False, "changed": relative, "error": describe_error(error)}
                log.error("code reload failed; the previous code keeps serving", extra=self.last)
                print(
                    f"reload failed ({', '.join(relative)}); the previous code keeps serving:\n"
                    + "".join(traceback.format_exception_only(type(error), error)),
                    file=sys.stderr,
                    flush=True,
                )
                return False
            self.generation += 1
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            self.last = {"ok": True, "changed": relative, "modules": len(self._owned()), **summary}
            log.info("code reloaded", extra={**self.last, "generation": self.generation, "duration_ms": duration_ms})
            print(f"reloaded in {duration_ms / 1000:.2f} s: {', '.join(relative)}", file=sys.stderr, flush=True)
            return True


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
