"""The one declaration of every table, queue, event bus and search index.

The local bootstrap (devstack/bootstrap.py), the LocalStack init hook and the CDK stack
(infrastructure/) all read these specs, so a table added here exists everywhere and the
three cannot drift. Names are logical keys; `Settings.resource_name` turns a key into the
deployed name (prefix + key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.config import Settings, get_settings
from chalicelib.documents.tree import JOIN_FIELD, RELATIONS

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


TABLES: dict[str, TableSpec] = {}
QUEUES: dict[str, QueueSpec] = {}
SEARCH_INDEXES: dict[str, SearchIndexSpec] = {}
EVENT_BUSES: dict[str, EventBusSpec] = {}
SECRETS: dict[str, SecretSpec] = {}

Spec = TableSpec | QueueSpec | SearchIndexSpec | EventBusSpec | SecretSpec


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
        registry = registries[type(spec)]
        existing = registry.get(spec.key)
        if existing is not None and existing != spec:
            raise ValueError(f"{type(spec).__name__} {spec.key!r} declared twice with different settings")
        registry[spec.key] = spec


# The platform's own plumbing: the bus that fans domain events out to the consumers' queues
# (DESIGN.md §1, chalicelib/events), and in the local cloud its tap for `make events`.
declare(
    QueueSpec(key="events", visibility_timeout_s=30, max_receive_count=3, local_only=True),
    EventBusSpec(
        key="events",
        local_tap="events",
        rules=(
            # Consumers with queues of their own (chalicelib/catalog, chalicelib/orders, chalicelib/audit).
            ("catalog-stock-refresh", ("order.created", "order.status_changed"), "catalog-stock"),
            ("order-confirmation-mail", ("order.created",), "order-confirmations"),
            ("audit-trail", ("user.", "cart.", "order.", "payment.", "task."), "audit"),
        ),
    ),
)

IDENTITY_MAIL_QUEUE = "identity-mail"

# Identity (chalicelib/auth): users, uniqueness claims, refresh-token families, API keys and
# password-reset tokens in one table (pk/sk), API keys listed per owner through gsi1. Its
# stream publishes user.registered (chalicelib/auth/handlers.py).
declare(
    TableSpec(
        key="identity",
        hash_key=Key("pk"),
        range_key=Key("sk"),
        indexes=(Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),),
        stream=True,
        ttl_attribute="expires_at",
        stream_failure_queue="identity-stream-failures",
    ),
    QueueSpec(key="identity-stream-failures", dead_letter=False),
    # Password-reset requests: the route only enqueues, so its answer takes the same time
    # whether or not the address has an account; the consumer looks it up and mails the link.
    QueueSpec(key=IDENTITY_MAIL_QUEUE),
    SecretSpec(key="jwt-signing-keys", generator="chalicelib.auth.keys:new_keyring_secret"),
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


# Documents (chalicelib/documents): every document type in one table keyed by owner and id
# (pk `<owner>#<type>`, sk the objectId), so two owners may hold the same objectIds and "my
# documents of a type" is one Query. Layout 2: layout 1 keyed by (type, id) alone. The stream
# feeds the search indexer. Each searchable type has its own index behind an alias; plans use
# a join field for parent-child search. Mappings are fixed (`dynamic: false`): no tenant's
# documents can change how another's are indexed (chalicelib/documents/mapping.py).
_DOCUMENT_FIELDS = {
    "objectId": {"type": "keyword"},
    "objectType": {"type": "keyword"},
    "_org": {"type": "keyword"},
    "_owner": {"type": "keyword"},
    # The objectId of the stored document an index document belongs to (a plan, for its
    # children), and when that document was last written (epoch ms).
    "_root": {"type": "keyword"},
    "_updated": {"type": "long"},
}
DOCUMENT_INDEX_VERSION = 2
declare(
    TableSpec(
        key="documents",
        hash_key=Key("pk"),
        range_key=Key("doc_id"),
        stream=True,
        stream_failure_queue="documents-stream-failures",
        # The index must catch up after an OpenSearch outage: about four minutes of backoff
        # before a batch is given up to the failure queue (a bad record fails alone sooner
        # only in the sense that it is retried too; see docs/documents.md).
        stream_max_attempts=12,
        layout=2,
    ),
    QueueSpec(key="documents-stream-failures", dead_letter=False),
    SearchIndexSpec(
        key="documents-plan",
        mappings={
            "dynamic": False,
            "properties": {
                **_DOCUMENT_FIELDS,
                JOIN_FIELD: {"type": "join", "relations": RELATIONS},
                "planType": {"type": "keyword"},
                "creationDate": {"type": "keyword"},
                "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                "deductible": {"type": "double"},
                "copay": {"type": "double"},
            },
        },
        version=DOCUMENT_INDEX_VERSION,
    ),
    SearchIndexSpec(
        key="documents-service",
        mappings={
            "dynamic": False,
            "properties": {**_DOCUMENT_FIELDS, "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}}},
        },
        version=DOCUMENT_INDEX_VERSION,
    ),
)


def document_index_key(doc_type: str) -> str:
    """The search index (alias) key of a document type: declared above, or made at registration."""
    return f"documents-{doc_type}"


def registered_type_index(doc_type: str, schema: dict[str, Any]) -> SearchIndexSpec:
    """The index of a type a client registered at run time: what its schema declares, plus the
    common fields, and nothing the documents themselves bring."""
    from chalicelib.documents.mapping import properties_of

    return SearchIndexSpec(
        key=document_index_key(doc_type),
        mappings={"dynamic": False, "properties": {**properties_of(schema), **_DOCUMENT_FIELDS}},
        version=DOCUMENT_INDEX_VERSION,
    )


import chalicelib.audit.resources  # noqa: E402  (declarations)
import chalicelib.catalog.resources  # noqa: E402  (declarations)
import chalicelib.observability.resources  # noqa: E402  (declarations)
import chalicelib.orders.resources  # noqa: E402  (declarations)
import chalicelib.tasks.resources  # noqa: E402,F401  (declarations)
