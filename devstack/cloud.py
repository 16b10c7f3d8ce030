"""The embedded local cloud: backing services, bootstrap, event runtime and HTTP, in order.

The order matters. Chalice reads event-source identities (stream ARNs) when app.py is
imported, and moto mints a stream ARN only when the table is created; so the resources are
bootstrapped first, their ARNs exported as STREAM_ARN_<KEY>, and only then is the app
imported. Deployment feeds the same variables from the stack.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clients
from chalicelib.config import EnvReader, Settings, get_settings
from devstack import bootstrap
from devstack.runtime import EventRuntime, RuntimeOptions
from devstack.server import make_server
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

log = logging.getLogger("devstack")

# moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


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
        self.runtime: EventRuntime | None = None
        self.api_port = options.api_port or free_port()
        self.api_url = ""
        self._server: Any = None
        self._server_thread: threading.Thread | None = None

    @property
    def services(self) -> list[Service]:
        return [self.aws, self.opensearch, self.redis]

    def _export_environment(self) -> None:
        for name, value in LOCAL_AWS_ENV.items():
            os.environ.setdefault(name, value)
        # Links in emails and the JWT issuer name the address this stack answers on.
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://localhost:{self.api_port}")
        os.environ["AWS_ENDPOINT_URL"] = self.aws.url
        os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ["OPENSEARCH_URL"] = self.opensearch.url
        os.environ["REDIS_URL"] = self.redis.url
        get_settings.cache_clear()
        clients.reset()

    def start(self) -> LocalCloud:
        started = []
        try:
            for service in self.services:
                service.start()
                started.append(service)
            self._export_environment()
            bootstrap.load_declarations(list(self.options.declarations))
            self.resources = bootstrap.bootstrap(Settings.from_env())
            os.environ.update(bootstrap.stream_env(self.resources))
            get_settings.cache_clear()
            module_name, _, attribute = self.options.app.partition(":")
            app = getattr(importlib.import_module(module_name), attribute or "app")
            self._create_admin()
            self.runtime = EventRuntime(app, get_settings(), self.options.runtime)
            self.runtime.start()
            self._start_http(app)
        except BaseException:
            for service in reversed(started):
                service.stop()
            raise
        return self

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
        self.runtime = EventRuntime(self.runtime.app, get_settings(), self.options.runtime)
        self.runtime.start()

    def _start_http(self, app: Any) -> None:
        port = self.api_port
        self._server = make_server(app, HOST, port, self.control)
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._server_thread.start()
        self.api_url = f"http://{HOST}:{port}"
        wait_for_port(HOST, port, 10)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.runtime is not None:
            self.runtime.stop()
        for service in reversed(self.services):
            service.stop()

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

    def control(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        """The /_devstack surface:
        GET /                              status: endpoints, resources, handler statistics
        POST /schedules/<name>             fire a schedule now
        POST /services/<name>/(stop|start) stop or restart OpenSearch or Redis (fault drills)
        POST /services/<name>/(pause|resume) freeze or thaw it, keeping its data
        GET /outbox                        the emails sent through SES, oldest first
        """
        assert self.runtime is not None
        parts = [p for p in path.split("/") if p]
        if method == "GET" and not parts:
            return 200, {"endpoints": self.endpoints(), "resources": self.resources, "runtime": self.runtime.status()}
        if method == "GET" and parts == ["outbox"]:
            return 200, {"messages": outbox()}
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
