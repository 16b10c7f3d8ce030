"""The vocabulary of declared resources: tables, queues, event buses and their rules, search
indexes and secrets, and the registry every declaration lands in.

Each context declares its own resources in its `resources.py` (chalicelib/<context>/resources.py),
including the bus rules that feed its queues; chalicelib/declarations.py imports them all. The
local bootstrap (devstack/bootstrap.py), the LocalStack init hook and the CDK stack
(infrastructure/) read the registry after that import, so a table added in a context exists
everywhere and the three cannot drift. Names are logical keys; `Settings.resource_name` turns a
key into the deployed name (prefix + key). This module knows no context.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.config import Settings, get_settings

KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: Key
    range_key: Key | None = None


@dataclass(frozen=True)
class TableSpec:
    key: str
    hash_key: Key
    range_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    stream: bool = False
    ttl_attribute: str | None = None
    # Where stream batches that exhaust their retries are reported (Lambda's on-failure
    # destination). A queue key from QUEUES.
    stream_failure_queue: str | None = None
    # Tries of a failing stream batch (the mapping's MaximumRetryAttempts + 1); None: the
    # runtime's default. Long for consumers that must ride out an outage rather than skip.
    stream_max_attempts: int | None = None
    # Bumped when the key schema changes: DynamoDB cannot re-key a table, so a new layout is a
    # new table beside the old one (docs/deploy.md says how data moves over).
    layout: int = 1

    def table_name(self, settings: Settings | None = None) -> str:
        """The deployed name: `<prefix>-<key>`, plus `-v<layout>` from the second layout on."""
        suffix = f"-v{self.layout}" if self.layout > 1 else ""
        return (settings or get_settings()).resource_name(self.key + suffix)


@dataclass(frozen=True)
class QueueSpec:
    key: str
    visibility_timeout_s: int = 30
    max_receive_count: int = 3
    fifo: bool = False
    dead_letter: bool = True
    # Created by the local cloud (devstack, LocalStack) only, never by the stack: a queue for
    # developers to read that nobody would read in AWS, where it would fill to its retention.
    local_only: bool = False

    @property
    def dlq_key(self) -> str:
        return f"{self.key}-dlq"


@dataclass(frozen=True)
class SearchIndexSpec:
    """An OpenSearch index reached through an alias of the same key."""

    key: str
    mappings: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True)
class SecretSpec:
    """A Secrets Manager secret. `generator` ("module:function") makes a first value where
    the environment has none yet (the local cloud, a fresh stack); rotation replaces it."""

    key: str
    generator: str


@dataclass(frozen=True)
class EventBusSpec:
    key: str
    # Rules that forward matching events to a queue: (rule name, detail-type prefix list, queue key).
    rules: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    # A local-only queue (QueueSpec.local_only) that a rule of the local cloud alone feeds every
    # event of the bus, as the bare envelope: what `make events` tails.
    local_tap: str | None = None

    @property
    def tap_rule(self) -> str:
        return f"{self.key}-tap"


@dataclass(frozen=True)
class EventRule:
    """A rule of a declared bus that forwards the events whose type starts with one of
    `detail_types` to `queue`: declared by the context that consumes the queue."""

    key: str
    detail_types: tuple[str, ...]
    queue: str
    bus: str = "events"


TABLES: dict[str, TableSpec] = {}
QUEUES: dict[str, QueueSpec] = {}
SEARCH_INDEXES: dict[str, SearchIndexSpec] = {}
EVENT_BUSES: dict[str, EventBusSpec] = {}
SECRETS: dict[str, SecretSpec] = {}

Spec = TableSpec | QueueSpec | SearchIndexSpec | EventBusSpec | SecretSpec | EventRule


def _add_rule(rule: EventRule) -> None:
    """A rule joins its bus's spec, so everything that creates the bus creates its rules too."""
    bus = EVENT_BUSES.get(rule.bus)
    if bus is None:
        raise ValueError(f"EventRule {rule.key!r} names the bus {rule.bus!r}, which is not declared")
    entry = (rule.key, rule.detail_types, rule.queue)
    existing = next((r for r in bus.rules if r[0] == rule.key), None)
    if existing is not None and existing != entry:
        raise ValueError(f"EventRule {rule.key!r} declared twice with different settings")
    if existing is None:
        EVENT_BUSES[rule.bus] = dataclasses.replace(bus, rules=(*bus.rules, entry))


def declare(*specs: Spec) -> None:
    """Add specs to the declaration; a context calls this from its resources module."""
    registries: dict[type, dict[str, Any]] = {
        TableSpec: TABLES,
        QueueSpec: QUEUES,
        SearchIndexSpec: SEARCH_INDEXES,
        EventBusSpec: EVENT_BUSES,
        SecretSpec: SECRETS,
    }
    for spec in specs:
        if isinstance(spec, EventRule):
            _add_rule(spec)
            continue
        registry = registries[type(spec)]
        existing = registry.get(spec.key)
        if existing is not None and existing != spec:
            raise ValueError(f"{type(spec).__name__} {spec.key!r} declared twice with different settings")
        registry[spec.key] = spec


# The platform's own plumbing: the bus that fans domain events out to the consumers' queues
# (DESIGN.md §1, chalicelib/events), and in the local cloud its tap for `make events`. The
# consumers with queues of their own declare the bus's rules beside their queues
# (chalicelib/catalog, orders and audit).
declare(
    QueueSpec(key="events", visibility_timeout_s=30, max_receive_count=3, local_only=True),
    EventBusSpec(key="events", local_tap="events"),
)


def stream_arn(table_key: str, settings: Settings | None = None) -> str:
    """The stream ARN Chalice needs at import time for `@app.on_dynamodb_record`.

    The local cloud and the deployment pass it as STREAM_ARN_<KEY>. Without one (a unit test
    importing app.py, `chalice package` before the stack exists) the ARN names the table with
    an `unresolved` stream label; the event runtime and the deploy check refuse it loudly.
    """
    settings = settings or get_settings()
    arn = settings.stream_arns.get(stream_env_suffix(table_key).lower())
    if arn:
        return arn
    return (
        f"arn:aws:dynamodb:{settings.aws_region}:000000000000:"
        f"table/{TABLES[table_key].table_name(settings)}/stream/unresolved"
    )


def stream_env_suffix(table_key: str) -> str:
    """`order-events` → `ORDER_EVENTS`, as in the STREAM_ARN_ORDER_EVENTS variable."""
    return table_key.upper().replace("-", "_")


def deployed_queues() -> dict[str, QueueSpec]:
    """The queues the stack creates in AWS: every declared one but the local cloud's own."""
    return {key: spec for key, spec in QUEUES.items() if not spec.local_only}


def queue_name(queue_key: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    spec = QUEUES.get(queue_key)
    name = settings.resource_name(queue_key)
    return f"{name}.fifo" if spec is not None and spec.fifo else name
