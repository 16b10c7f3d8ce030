"""The embedded local cloud: backing services, bootstrap, event runtime and HTTP, in order.

The order matters. Chalice reads event-source identities (stream ARNs) when app.py is
imported, and moto mints a stream ARN only when the table is created; so the resources are
bootstrapped first, their ARNs exported as STREAM_ARN_<KEY>, and only then is the app
imported. Deployment feeds the same variables from the stack.

With a data folder (the default), moto's state is restored before anything else runs, and the
search indexes are rebuilt before the event runtime starts: the pollers begin at the end of
streams that the restore left empty, so no handler sees a write of an earlier run again
(docs/local-cloud.md, "What a restart keeps").
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import clients
from chalicelib.config import EnvReader, Settings, get_settings
from devstack import bootstrap, botocore_loader, tls
from devstack import state as durable
from devstack.reload import CodeReloader, watched_roots
from devstack.runtime import EventRuntime, RuntimeOptions
from devstack.server import ApiServer
from devstack.services import (
    HOST,
    ExternalService,
    MotoService,
    OpenSearchService,
    ProcessService,
    RedisService,
    Service,
    free_port,
    wait_for_port,
)
from devstack.state import search
from devstack.state.store import DataFolder, Restored, StateStore

log = logging.getLogger("devstack")

# moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# How long a clean stop waits for the stream handlers to be handed every write made so far.
DRAIN_S = 5.0


@dataclass(frozen=True)
class CloudOptions:
    app: str = "app:app"
    api_port: int = 8000
    aws_port: int = 5000
    opensearch_port: int = 9200
    redis_port: int = 6379
    opensearch_url: str | None = None
    redis_url: str | None = None
    declarations: tuple[str, ...] = ()
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)
    data_dir: Path = PROJECT_ROOT / ".devstack"
    # Keep nothing on disk: the stack starts empty and forgets everything when it stops.
    ephemeral: bool = False
    # Forget the kept state before starting.
    fresh: bool = False
    # 0: a write is on disk before it is answered. N: it is answered once the kernel has it (a
    # killed stack loses nothing) and synced within N ms (a crashed machine loses at most that).
    journal_sync_ms: int = 100
    compact_bytes: int = 64 * 1024 * 1024
    reload: bool = True
    reload_poll_s: float = 0.5
    # Per read: a client that sends nothing for this long is disconnected.
    http_read_timeout_s: float = 30.0
    https: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> CloudOptions:
        read = EnvReader(os.environ if environ is None else environ)
        return cls(
            app=read.str("DEVSTACK_APP", "app:app"),
            api_port=read.int("PORT", 8000),
            aws_port=read.int("DEVSTACK_AWS_PORT", 5000),
            opensearch_port=read.int("DEVSTACK_OPENSEARCH_PORT", 9200),
            redis_port=read.int("DEVSTACK_REDIS_PORT", 6379),
            opensearch_url=read.url("OPENSEARCH_URL", None, ("http", "https")),
            redis_url=read.url("REDIS_URL", None, ("redis", "rediss", "unix")),
            declarations=read.list("DEVSTACK_DECLARATIONS", ""),
            data_dir=Path(read.str("DEVSTACK_DATA_DIR", str(PROJECT_ROOT / ".devstack"))).expanduser().resolve(),
            ephemeral=read.bool("DEVSTACK_EPHEMERAL", False),
            fresh=read.bool("DEVSTACK_FRESH", False),
            journal_sync_ms=read.int("DEVSTACK_JOURNAL_SYNC_MS", 100),
            compact_bytes=read.int("DEVSTACK_COMPACT_BYTES", 64 * 1024 * 1024, minimum=1),
            reload=read.bool("DEVSTACK_RELOAD", True),
            reload_poll_s=read.float("DEVSTACK_RELOAD_POLL_S", 0.5),
            http_read_timeout_s=read.float("DEVSTACK_HTTP_READ_TIMEOUT_S", 30.0),
            https=read.bool("DEVSTACK_HTTPS", False),
            runtime=RuntimeOptions(
                stream_poll_s=read.float("DEVSTACK_STREAM_POLL_S", 0.2),
                stream_max_attempts=read.int("DEVSTACK_STREAM_MAX_ATTEMPTS", 3, minimum=1),
                stream_backoff_s=read.float("DEVSTACK_STREAM_BACKOFF_S", 0.5),
                sqs_retry_delay_s=read.int("DEVSTACK_SQS_RETRY_DELAY_S", 1),
            ),
        )


def outbox() -> list[dict[str, Any]]:
    """What moto's SES has accepted: it runs in this process, so its backend is readable."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = []
    for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
        for message in backend.sent_messages:
            messages.append(
                {
                    "id": message.id,
                    "region": region,
                    "source": message.source,
                    "to": [address for addresses in message.destinations.values() for address in addresses],
                    "subject": message.subject,
                    "body": message.body,
                }
            )
    return messages


SERVICE_ACTIONS = ("stop", "start", "pause", "resume")
# The runtime's status while a restart's search rebuild runs: nothing is delivered yet.
NOT_YET_RUNNING = {
    "pollers": [],
    "streams_caught_up": False,
    "schedules": {},
    "handlers": {},
    "starts": "after the search rebuild",
}


class LocalCloud:
    def __init__(self, options: CloudOptions) -> None:
        self.options = options
        self.aws = MotoService(port=options.aws_port)
        self.opensearch: Service = (
            ExternalService(name="opensearch", url=options.opensearch_url)
            if options.opensearch_url
            else OpenSearchService(port=options.opensearch_port)
        )
        self.redis: Service = (
            ExternalService(name="redis", url=options.redis_url)
            if options.redis_url
            else RedisService(port=options.redis_port)
        )
        self.resources: dict[str, Any] = {}
        self.app: Any = None
        self.runtime: EventRuntime | None = None
        # Orders the runtime's start (after a search rebuild) with reloads and the stop.
        self._runtime_lock = threading.Lock()
        self._stopping = False
        self.api_port = options.api_port or free_port()
        self.api_url = ""
        self.folder = DataFolder(options.data_dir)
        self.store: StateStore | None = None
        self.restored = Restored()
        self.search_rebuild: dict[str, Any] | None = None
        self.reloader: CodeReloader | None = None
        self.certificate: Path | None = None
        self._scratch: Path | None = None
        self._server: ApiServer | None = None
        self._server_thread: threading.Thread | None = None

    @property
    def services(self) -> list[Service]:
        return [self.aws, self.opensearch, self.redis]

    @property
    def search_is_embedded(self) -> bool:
        return isinstance(self.opensearch, OpenSearchService)

    def _export_environment(self) -> None:
        for name, value in LOCAL_AWS_ENV.items():
            os.environ.setdefault(name, value)
        # Links in emails and the JWT issuer name the address this stack answers on.
        scheme = "https" if self.options.https else "http"
        os.environ.setdefault("PUBLIC_BASE_URL", f"{scheme}://localhost:{self.api_port}")
        os.environ["AWS_ENDPOINT_URL"] = self.aws.url
        os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ["OPENSEARCH_URL"] = self.opensearch.url
        os.environ["REDIS_URL"] = self.redis.url
        get_settings.cache_clear()
        clients.reset()

    def _restore(self) -> None:
        """The kept state back into moto, before any service answers; then record every change."""
        if self.options.ephemeral:
            return
        durable.install()
        self.folder.lock()
        if self.options.fresh:
            self.folder.reset()
        interval = self.options.journal_sync_ms / 1000 or None
        self.store = StateStore(self.folder, interval, self.options.compact_bytes)
        redeliver = search.redeliver_queues(Settings.from_env()) if self.search_is_embedded else frozenset()
        self.restored = self.store.open(redeliver)
        log.info("state restored", extra={"data_dir": str(self.folder.root), **self.restored.summary()})

    def _load_app(self) -> Any:
        """Bootstrap what the declarations ask for (idempotent), then import the app."""
        bootstrap.load_declarations(list(self.options.declarations))
        self.resources = bootstrap.bootstrap(Settings.from_env())
        os.environ.update(bootstrap.stream_env(self.resources))
        get_settings.cache_clear()
        module_name, _, attribute = self.options.app.partition(":")
        return getattr(importlib.import_module(module_name), attribute or "app")

    def _rebuild_search_then_run(self) -> None:
        """OpenSearch starts empty: put back what only it held, rebuild what the tables hold, and
        only then start the event runtime, so the pollers begin on indexes that exist (a
        registered type's index is made by the rebuild) and writes made meanwhile wait in the
        streams. The API answers all along; searches are incomplete until the rebuild is done."""
        try:
            settings = Settings.from_env()
            logs = search.restore_logs(self.restored.search, settings) if self.search_is_embedded else 0
            self.search_rebuild = {"done": True, **search.rebuild_derived(), "log_documents": logs}
            log.info("search indexes rebuilt", extra=self.search_rebuild)
        except Exception:
            self.search_rebuild = {"done": False, "failed": True}
            log.exception("search rebuild failed; the reindex task rebuilds a type's index once OpenSearch is back")
        with self._runtime_lock:
            if not self._stopping:
                self._start_runtime(self.app, self.restored.schedules)

    def _dump_search(self) -> Any:
        if not self.search_is_embedded:
            return None
        return lambda: search.dump_logs(Settings.from_env())

    def start(self) -> LocalCloud:
        started: list[Service] = []
        botocore_loader.apply()
        try:
            self._restore()
            for service in self.services:
                service.start()
                started.append(service)
            self._export_environment()
            if self.options.reload:
                roots = watched_roots(["chalicelib", self.options.app.partition(":")[0], *self.options.declarations])
                self.reloader = CodeReloader(roots, self._reload, self.options.reload_poll_s)
            self.app = self._load_app()
            self._create_admin()
            self._start_http(self.app)
            if self.restored.records:
                self.search_rebuild = {"done": False}
                threading.Thread(target=self._rebuild_search_then_run, name="search-rebuild", daemon=True).start()
            else:
                self._start_runtime(self.app, self.restored.schedules)
            if self.store is not None:
                self.store.compact_when_large(self._dump_search())
            if self.reloader is not None:
                self.reloader.start()
        except BaseException:
            self._stop_recording(snapshot=False)
            for service in reversed(started):
                service.stop()
            raise
        return self

    def _reload(self) -> dict[str, Any]:
        """Called by the reloader with the new modules importable: switch HTTP and the runtime."""
        assert self._server is not None
        app = self._load_app()
        unresolved = [s.name for s in app.event_sources if str(getattr(s, "stream_arn", "")).endswith("/unresolved")]
        if unresolved:
            raise RuntimeError(f"no stream ARN for the handlers {', '.join(unresolved)}")
        with self._runtime_lock:
            self.app = app
            self._server.serve_app(app)
            runtime = self.runtime.serve(app) if self.runtime is not None else "starts after the search rebuild"
        return {"routes": len(app.routes), "handlers": sorted(s.name for s in app.event_sources), "runtime": runtime}

    def _create_admin(self) -> None:
        """ADMIN_USERNAME + ADMIN_PASSWORD: an administrator exists after start (idempotent)."""
        username, password = os.environ.get("ADMIN_USERNAME"), os.environ.get("ADMIN_PASSWORD")
        if not (username and password) or self.options.app != "app:app":
            return
        from chalicelib.auth.container import identity
        from chalicelib.errors import ValidationFailed

        email = os.environ.get("ADMIN_EMAIL") or f"{username}@example.com"
        try:
            profile = identity().service.ensure_admin(username, email, password)
        except ValidationFailed as exc:
            reasons = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
            raise SystemExit(f"ADMIN_USERNAME/ADMIN_PASSWORD refused: {reasons}") from None
        log.info("administrator ready", extra={"username": profile["username"]})

    def _restart_runtime(self) -> None:
        """Kill the event runtime and start a new one, as a crashed poller fleet would restart:
        the new pollers know nothing of the old ones' positions (starting_position again)."""
        assert self.runtime is not None
        self.runtime.stop()
        self._start_runtime(self.runtime.app, self.runtime.scheduler.timings())

    def _start_runtime(self, app: Any, timings: dict[str, dict[str, str]]) -> None:
        on_timings = self.store.record_timings if self.store is not None else None
        self.runtime = EventRuntime(app, get_settings(), self.options.runtime, timings=timings, on_timings=on_timings)
        self.runtime.start()

    def _start_http(self, app: Any) -> None:
        port = self.api_port
        self._server = ApiServer((HOST, port), app, self.control, self.options.http_read_timeout_s, self._tls())
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._server_thread.start()
        self.api_url = f"{self._server.scheme}://{HOST}:{port}"
        wait_for_port(HOST, port, 10)

    def _tls(self) -> ssl.SSLContext | None:
        if not self.options.https:
            return None
        if self.options.ephemeral:
            self._scratch = Path(tempfile.mkdtemp(prefix="devstack-tls-"))
        self.certificate, key = tls.ensure_certificate(self._scratch or self.folder.tls)
        return tls.server_context(self.certificate, key)

    def _stop_recording(self, snapshot: bool) -> None:
        if self.store is not None:
            if snapshot:
                self.store.close(self._dump_search())
            else:
                self.store.abandon()
            self.store = None
        self.folder.unlock()

    def stop(self) -> None:
        with self._runtime_lock:
            self._stopping = True
        if self.reloader is not None:
            self.reloader.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.runtime is not None:
            # Hand the stream handlers what was written before the stop, so a clean restart
            # loses no event (after kill -9 the restore cannot: docs/local-cloud.md).
            self.runtime.drain(DRAIN_S)
            self.runtime.stop()
        self._stop_recording(snapshot=True)
        for service in reversed(self.services):
            service.stop()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def endpoints(self) -> dict[str, str]:
        return {
            "api": self.api_url,
            "docs": f"{self.api_url}/docs",
            "console": f"{self.api_url}/console",
            "openapi": f"{self.api_url}/openapi.json",
            "health": f"{self.api_url}/health",
            "control": f"{self.api_url}/_devstack",
            "aws": self.aws.url,
            "opensearch": self.opensearch.url,
            "redis": self.redis.url,
        }

    def state_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"persistent": self.store is not None}
        if self.store is not None:
            status.update(
                data_dir=str(self.folder.root),
                restored=self.restored.summary(),
                journal_bytes=self.store.journal_bytes,
                search_rebuild=self.search_rebuild,
            )
        if self.certificate is not None:
            status["certificate"] = str(self.certificate)
        return status

    def control(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        """The /_devstack surface:
        GET /                              status: endpoints, resources, handler statistics
        POST /schedules/<name>             fire a schedule now
        POST /services/<name>/(stop|start) stop or restart OpenSearch or Redis (fault drills)
        POST /services/<name>/(pause|resume) freeze or thaw it, keeping its data
        GET /outbox                        the emails sent through SES, oldest first
        """
        parts = [p for p in path.split("/") if p]
        if method == "GET" and not parts:
            return 200, {
                "endpoints": self.endpoints(),
                "resources": self.resources,
                "runtime": self.runtime.status() if self.runtime is not None else NOT_YET_RUNNING,
                "state": self.state_status(),
                "code": self.reloader.status() if self.reloader is not None else {"reload": False},
            }
        if method == "GET" and parts == ["outbox"]:
            return 200, {"messages": outbox()}
        if self.runtime is None:
            return 409, {"error": "the event runtime starts once the search indexes are rebuilt"}
        if method == "POST" and len(parts) == 2 and parts[0] == "schedules":
            if self.runtime.scheduler.fire(parts[1]):
                return 202, {"fired": parts[1]}
            return 404, {"error": f"no schedule named {parts[1]}"}
        if method == "POST" and len(parts) == 3 and parts[0] == "services" and parts[2] in SERVICE_ACTIONS:
            service = {s.name: s for s in (self.opensearch, self.redis)}.get(parts[1])
            if not isinstance(service, ProcessService):
                return 404, {"error": f"no service {parts[1]} that the local cloud runs itself"}
            getattr(service, parts[2])()
            return 200, {"service": service.name, "running": service.running, "action": parts[2]}
        if method == "POST" and parts == ["runtime", "restart"]:
            self._restart_runtime()
            return 200, {"runtime": "restarted"}
        return 404, {"error": f"no control route {method} {path or '/'}"}
