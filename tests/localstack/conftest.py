"""Fixtures for the suite that runs against LocalStack (docs/localstack.md).

Only `make localstack-test` collects this directory (pyproject's testpaths leave it out of
`make test`). Every test is skipped, with the reason, unless AWS_ENDPOINT_URL names a reachable
LocalStack: the suite creates resources and must never run against a real account or a stray
endpoint.

Endpoints are resolved per service through localstack_client (LocalStack's Python client) and
checked against the app's Settings, so the bootstrap and the assertions talk to one endpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localstack_client import config as localstack_config
from localstack_client.session import Session

from chalicelib import clients, declarations, resources  # noqa: F401  (declarations fill the registry)
from chalicelib.config import EnvReader, Settings, get_settings
from chalicelib.resources import (
    EventBusSpec,
    Index,
    Key,
    QueueSpec,
    SearchIndexSpec,
    SecretSpec,
    TableSpec,
    declare,
)
from devstack import bootstrap

HERE = Path(__file__).resolve().parent
# What the bootstrap and these tests call; LocalStack must serve each one.
SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "events", "secretsmanager", "ses")
# LocalStack's default account (000000000000). The init hook uses the same keys, so the suite sees
# the resources the hook created rather than an empty account of its own.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
HOOK_NAME = "10-bootstrap.sh"
REGISTRIES = ("TABLES", "QUEUES", "EVENT_BUSES", "SECRETS", "SEARCH_INDEXES")


@dataclass(frozen=True)
class Declared:
    tables: dict[str, TableSpec]
    queues: dict[str, QueueSpec]
    event_buses: dict[str, EventBusSpec]
    secrets: dict[str, SecretSpec]
    search_indexes: dict[str, SearchIndexSpec]

    @classmethod
    def snapshot(cls) -> Declared:
        return cls(*(dict(getattr(resources, name)) for name in REGISTRIES))

    @contextlib.contextmanager
    def installed(self) -> Iterator[Declared]:
        """Make these the registries the bootstrap and chalicelib read, for the duration."""
        with pytest.MonkeyPatch.context() as patch:
            for name, field in zip(REGISTRIES, dataclasses.fields(self), strict=True):
                registry = getattr(self, field.name)
                patch.setattr(resources, name, dict(registry))
            yield self


# The platform's declaration does not use every option the bootstrap handles. These do, so each
# branch runs against LocalStack: range key, GSI, stream, TTL, a table without either, FIFO with
# its FIFO DLQ, a queue without a DLQ, an event-bus rule. They live only in DECLARED, never in the
# global registries, so a session that also runs other tests sees the platform's declaration.
SUITE_SPECS: tuple[TableSpec | QueueSpec | EventBusSpec, ...] = (
    TableSpec(
        key="lstest-orders",
        hash_key=Key("pk"),
        range_key=Key("sk"),
        indexes=(Index("by-status", Key("status"), Key("updated_at", "N")),),
        stream=True,
        ttl_attribute="expires_at",
        stream_failure_queue="lstest-stream-failures",
    ),
    TableSpec(key="lstest-counters", hash_key=Key("id", "N")),
    QueueSpec(key="lstest-jobs", visibility_timeout_s=45, max_receive_count=2),
    QueueSpec(key="lstest-ordered", fifo=True, max_receive_count=4),
    QueueSpec(key="lstest-stream-failures", dead_letter=False),
    EventBusSpec(key="lstest-bus", rules=(("lstest-orders-to-jobs", ("order.",), "lstest-jobs"),)),
)
# Set in pytest_configure. PLATFORM: what the init hook bootstraps, the platform's declaration plus
# DEVSTACK_DECLARATIONS (the compose file hands that variable to the hook as well). DECLARED: that
# plus SUITE_SPECS, what the tests are parametrized from and check.
PLATFORM = Declared({}, {}, {}, {}, {})
DECLARED = PLATFORM


def pytest_configure(config: pytest.Config) -> None:
    # Here rather than at import: pytest calls this when it collects this directory, before the test
    # modules are parametrized, while a plain import (the offline unit tests read SERVICES) has no
    # side effect at all.
    global PLATFORM, DECLARED
    bootstrap.load_declarations(list(EnvReader(os.environ).list("DEVSTACK_DECLARATIONS", "")))
    PLATFORM = Declared.snapshot()
    with PLATFORM.installed():
        declare(*SUITE_SPECS)  # declare() refuses a suite key that clashes with the platform's
        DECLARED = Declared.snapshot()


@pytest.fixture(autouse=True)
def declared_registries() -> Iterator[Declared]:
    """Each test here sees DECLARED as the registries (queue_name() looks a queue's FIFO-ness up)."""
    with DECLARED.installed() as declared:
        yield declared


def fetch_json(url: str, timeout_s: float = 3.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.load(response)


def edge_endpoint() -> str | None:
    """LocalStack's edge URL as localstack_client resolves it, or None when AWS_ENDPOINT_URL is unset.

    localstack_client would fall back to localhost:4566 by itself, but the app's Settings would
    then target real AWS; requiring the variable keeps both on the same endpoint.
    """
    if not os.environ.get("AWS_ENDPOINT_URL", "").strip():
        return None
    endpoint = localstack_config.get_service_endpoint("edge")
    return endpoint.rstrip("/") if endpoint else None


@functools.cache
def unavailable_reason() -> str | None:
    endpoint = edge_endpoint()
    if endpoint is None:
        return "AWS_ENDPOINT_URL is not set: this suite runs only against LocalStack (make localstack-test)"
    not_localstack = f"{endpoint} answers, but not as LocalStack (no /_localstack/health); refusing to use it"
    try:
        health = fetch_json(f"{endpoint}/_localstack/health")
    except (urllib.error.HTTPError, ValueError):
        return not_localstack
    except OSError as exc:
        return f"LocalStack is not reachable at {endpoint} ({exc}); start it with `make localstack-up`"
    if not isinstance(health, dict) or "services" not in health:
        return not_localstack
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A session-wide hook: only this directory's tests are ours to skip.
    mine = [item for item in items if HERE in item.path.parents]
    if not mine:
        return
    reason = unavailable_reason()
    if reason is not None:
        marker = pytest.mark.skip(reason=reason)
        for item in mine:
            item.add_marker(marker)


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    # Per service, as localstack_client resolves it.
    endpoints: dict[str, str]
    health: dict[str, Any]

    def init_ready(self) -> dict[str, Any]:
        return fetch_json(f"{self.endpoint}/_localstack/init/ready")


@pytest.fixture(scope="session")
def localstack() -> LocalStack:
    endpoint = edge_endpoint()
    assert endpoint is not None, "collection should have skipped this test"
    endpoints = {service: localstack_config.get_service_endpoint(service) or "" for service in SERVICES}
    return LocalStack(endpoint, endpoints, fetch_json(f"{endpoint}/_localstack/health"))


@pytest.fixture(scope="session")
def settings(localstack: LocalStack) -> Iterator[Settings]:
    """The app's Settings for this LocalStack, with LocalStack's default-account credentials."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        get_settings.cache_clear()
        clients.reset()
        settings = Settings.from_env()
        assert settings.aws_endpoint_url == localstack.endpoint, (
            f"the app would use {settings.aws_endpoint_url}, localstack_client resolves {localstack.endpoint}"
        )
        yield settings
        get_settings.cache_clear()
        clients.reset()


@pytest.fixture(scope="session")
def aws(localstack: LocalStack, settings: Settings) -> Callable[[str], Any]:
    """boto3 clients from a localstack_client session: endpoint per service, default account."""
    session = Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=settings.aws_region,
    )

    @functools.cache
    def client(service: str) -> Any:
        return session.client(service)

    return client


def missing(declared: Declared, aws: Callable[[str], Any], settings: Settings) -> list[str]:
    """The names of declared resources that do not exist (yet)."""
    absent = []
    dynamodb, sqs, events = aws("dynamodb"), aws("sqs"), aws("events")
    for key in declared.tables:
        name = settings.resource_name(key)
        try:
            dynamodb.describe_table(TableName=name)
        except dynamodb.exceptions.ResourceNotFoundException:
            absent.append(f"table {name}")
    for key, spec in declared.queues.items():
        names = [resources.queue_name(key, settings)]
        if spec.dead_letter:
            names.append(settings.resource_name(spec.dlq_key) + (".fifo" if spec.fifo else ""))
        for name in names:
            try:
                sqs.get_queue_url(QueueName=name)
            except sqs.exceptions.QueueDoesNotExist:
                absent.append(f"queue {name}")
    for key in declared.event_buses:
        name = settings.resource_name(key)
        try:
            events.describe_event_bus(Name=name)
        except events.exceptions.ResourceNotFoundException:
            absent.append(f"event bus {name}")
    secretsmanager = aws("secretsmanager")
    for key in declared.secrets:
        name = settings.resource_name(key)
        try:
            secretsmanager.describe_secret(SecretId=name)
        except secretsmanager.exceptions.ResourceNotFoundException:
            absent.append(f"secret {name}")
    return absent


def secret_fingerprints(aws: Callable[[str], Any], settings: Settings) -> dict[str, str]:
    """A digest of each secret's value ("" when empty): enough to compare, nothing to leak in a report."""
    client = aws("secretsmanager")
    values = {
        key: client.get_secret_value(SecretId=settings.resource_name(key)).get("SecretString", "")
        for key in resources.SECRETS
    }
    return {key: hashlib.sha256(value.encode()).hexdigest() if value else "" for key, value in values.items()}


@dataclass(frozen=True)
class Bootstrapped:
    # Platform resources that did not exist before this suite ran the bootstrap itself: what the
    # init hook (or a `make bootstrap`) should have created.
    missing_before: list[str]
    first: dict[str, Any]
    second: dict[str, Any]
    # Secret fingerprints after each run: a re-run must never replace a value (keys would rotate).
    secrets_after_first: dict[str, str]
    secrets_after_second: dict[str, str]


@pytest.fixture(scope="session")
def bootstrapped(aws: Callable[[str], Any], settings: Settings) -> Bootstrapped:
    """Run the bootstrap twice from the host, as `make bootstrap` does: both runs must agree."""
    with DECLARED.installed():
        before = missing(PLATFORM, aws, settings)
        first = bootstrap.bootstrap(settings, search=False)
        after_first = secret_fingerprints(aws, settings)
        second = bootstrap.bootstrap(settings, search=False)
        return Bootstrapped(before, first, second, after_first, secret_fingerprints(aws, settings))
