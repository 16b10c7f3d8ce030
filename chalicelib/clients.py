"""Network clients, created lazily and once per process.

Nothing here touches the network (or even imports boto3) until a client is first asked
for: importing boto3 costs ~0.35 s of cold start that routes which never call AWS should
not pay. Endpoints come from Settings, so the same code talks to AWS, the embedded local
cloud or LocalStack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from chalicelib.config import Settings, get_settings

if TYPE_CHECKING:
    from opensearchpy import OpenSearch
    from redis import Redis

_lock = threading.Lock()
_clients: dict[str, Any] = {}
T = TypeVar("T")


def _cached(name: str, factory: Callable[[], T]) -> T:
    client = _clients.get(name)
    if client is None:
        # boto3 sessions are not thread-safe; building clients under one lock keeps the
        # threaded local server and the event runtime from racing on first use.
        with _lock:
            client = _clients.get(name)
            if client is None:
                client = factory()
                _clients[name] = client
    # One factory builds what a name keys, so the client has that factory's type.
    return cast(T, client)


def aws(service: str, settings: Settings | None = None) -> Any:
    """A boto3 client for `service`, pointed at the configured endpoint."""
    settings = settings or get_settings()

    def build() -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(region_name=settings.aws_region)
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=2,
            read_timeout=10,
            max_pool_connections=32,
        )
        return session.client(service, endpoint_url=settings.aws_endpoint_url, config=config)

    return _cached(f"aws:{service}", build)


def opensearch(settings: Settings | None = None) -> OpenSearch:
    settings = settings or get_settings()

    def build() -> OpenSearch:
        from opensearchpy import OpenSearch, RequestsHttpConnection

        # A pool per host big enough for the threaded local server and concurrent handlers.
        kwargs: dict[str, Any] = {"timeout": 10, "max_retries": 2, "retry_on_timeout": True, "pool_maxsize": 16}
        if settings.opensearch_sigv4:
            # Amazon OpenSearch Service with fine-grained access: requests are SigV4-signed
            # with the function's role.
            import boto3
            from opensearchpy import AWSV4SignerAuth

            credentials = boto3.session.Session().get_credentials()
            kwargs.update(
                http_auth=AWSV4SignerAuth(credentials, settings.aws_region, "es"),
                connection_class=RequestsHttpConnection,
                use_ssl=True,
                verify_certs=True,
            )
        return OpenSearch(hosts=[settings.opensearch_url], **kwargs)

    return _cached("opensearch", build)


def redis(settings: Settings | None = None) -> Redis:
    settings = settings or get_settings()

    def build() -> Redis:
        from redis import Redis

        # Short timeouts: Redis is a cache, and a slow cache must degrade to the database,
        # not stall the request.
        return Redis.from_url(
            settings.redis_url,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            health_check_interval=30,
            decode_responses=False,
        )

    return _cached("redis", build)


def reset() -> None:
    """Forget every client (tests that switch endpoints, forked workers)."""
    with _lock:
        _clients.clear()


class Clients(Protocol):
    """The clients a composition root hands to its context (tests hand in fakes)."""

    def aws(self, service: str) -> Any: ...

    def opensearch(self) -> OpenSearch: ...

    def redis(self) -> Redis: ...


class _SettingsClients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def aws(self, service: str) -> Any:
        return aws(service, self.settings)

    def opensearch(self) -> OpenSearch:
        return opensearch(self.settings)

    def redis(self) -> Redis:
        return redis(self.settings)


class QueueSender:
    """Sends messages to one SQS queue (its name as chalicelib/resources.py's queue_name gives
    it). The queue's URL is asked for on the first send and kept: a GetQueueUrl per message
    would double the calls."""

    def __init__(self, clients: Clients, queue: str) -> None:
        self._clients = clients
        self._queue = queue
        self._url: str | None = None

    def __call__(self, body: str, delay_s: int | None = None) -> None:
        sqs = self._clients.aws("sqs")
        if self._url is None:
            self._url = str(sqs.get_queue_url(QueueName=self._queue)["QueueUrl"])
        delay = {} if delay_s is None else {"DelaySeconds": delay_s}
        sqs.send_message(QueueUrl=self._url, MessageBody=body, **delay)


def of(settings: Settings) -> Clients:
    """The clients of `settings`: each made on first use and shared by the whole process, like
    the functions above."""
    return _SettingsClients(settings)
