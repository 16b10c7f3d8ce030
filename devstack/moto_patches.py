"""Corrections to moto that the local cloud needs to behave like DynamoDB.

moto rolls a cancelled TransactWriteItems back by swapping in a deep copy of each table taken
before the transaction, stream shard included. Stream readers hold iterators on the old
shard object, so they would (a) deliver the records the cancelled transaction wrote (writes
that never happened) and (b) never see a later write. DynamoDB streams only ever carry
committed changes, so after a rollback we keep the original shard object, drop the records
the transaction appended to it, and attach it to the restored table.

moto's server also works out which service a request is for on every request, under one lock:
it lists moto's package directory (a listdir and ~150 isdir calls) and tries the URL patterns
of every service in turn. The answer for a given host never changes, so it is remembered; this
took a DynamoDB GetItem from about 4 ms to about 3.4 ms locally.

moto's SendMessage reads one flag through `queue.attributes`, and building that dict counts
every message in the queue three times. The platform's `events` queue is a tap nobody drains
(`make events` reads it), so every publish grew slower as events piled up: the schemathesis
run took 130-150 s on a stack that had published a few thousand events, 60 s on a fresh
one. While a message is being sent, the queue answers that one flag without counting.

moto serialises every answer by walking botocore's model of the response, and for each DynamoDB
attribute value it tries each of the ten type members under several spellings: a Query page of 21
five-attribute items took ~8 ms to serialise, a stream batch of 100 images far longer, and every
GetItem, Query, Scan and GetRecords paid it. An attribute value is `{type: value}` already; it is
written out directly, member by member as moto's serialiser would (blobs base64, sets and lists
item by item, maps recursively, members without a value left out).

moto's server builds each service's Flask app in debug mode, and in debug mode Flask defines a
new class for every request's (empty) `files` to explain form-encoding mistakes: a sixth of the
embedded cloud's Python time during a catalog ingest. Nothing here uses Flask's debugger; a
request that fails still answers 500. And every request listed its handler class's methods
(`inspect.getmembers`) to find its action; the list is kept per class.

moto keeps a table's items in a defaultdict by partition, and its GetItem indexes it: every read
of an item that does not exist (a 404, a BatchGetItem of unknown ids, an idempotency check) left
an empty partition behind, for good. Such a read now leaves the table as it found it.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if table.stream_shard is not None
        }
        try:
            return original(self, transact_items)
        except Exception:
            for name, (shard, length) in shards.items():
                restored = self.tables.get(name)
                if restored is not None and restored.stream_shard is not shard:
                    del shard.items[length:]
                    shard.table = restored
                    restored.stream_shard = shard
            raise

    DynamoDBBackend.transact_write_items = transact_write_items
    _remember_backend_for_host()
    _send_without_counting_the_queue()
    _serialize_attribute_values_directly()
    _serve_without_flask_debug()
    _list_handler_methods_once()
    _read_without_creating_partitions()
    _applied = True


def _remember_backend_for_host() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    @functools.wraps(original)
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        # Called with moto's dispatch lock held, so the dict needs no lock of its own.
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


def _send_without_counting_the_queue() -> None:
    from moto.sqs.models import Queue, SQSBackend

    every_attribute = inspect.getattr_static(Queue, "attributes").fget
    sending = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(sending, "active", False):
            return every_attribute(self)
        # All that sending reads, as the full dict would give it: only FIFO queues have the key.
        if not self.fifo_queue:
            return {}
        return {"ContentBasedDeduplication": str(self.content_based_deduplication).lower()}

    send_message = SQSBackend.send_message

    @functools.wraps(send_message)
    def send_without_counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return send_message(self, *args, **kwargs)
        finally:
            sending.active = False

    Queue.attributes = property(attributes)  # type: ignore[assignment]  # a property for a property
    SQSBackend.send_message = send_without_counting


ATTRIBUTE_VALUE_SERVICES = ("dynamodb", "dynamodbstreams")


class _Walk(Exception):
    """A value moto's walk writes in its own way (a map key "" merges the value into the map)."""


def _plain(serializer: Any, value: Any, shape: Any) -> Any:
    """What moto's JSON serialiser writes for `value` of this shape (not None), without the walk."""
    kind = shape.type_name
    if kind == "structure":
        return {
            name: _plain(serializer, value[name], member)
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "string":
        return str(value) if value not in ({}, []) else value
    if kind == "blob":
        return serializer._base64(value)
    if kind == "list":
        return [item if item is None else _plain(serializer, item, shape.member) for item in value]
    if kind == "map":
        if "" in value:
            raise _Walk
        return {key: _plain(serializer, item, shape.value) for key, item in value.items() if item is not None}
    return value


def _serialize_attribute_values_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer

    structure = BaseJSONSerializer._serialize_type_structure

    @functools.wraps(structure)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and isinstance(value, dict)
            and value.keys() <= shape.members.keys()
            and self.operation_model.service_model.service_name in ATTRIBUTE_VALUE_SERVICES
        ):
            try:
                serialized[self.get_serialized_name(shape, key)] = _plain(self, value, shape)
                return
            except _Walk:
                pass
        structure(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure


def _serve_without_flask_debug() -> None:
    from moto.moto_server import threaded_moto_server

    create_backend_app = threaded_moto_server.create_backend_app

    @functools.wraps(create_backend_app)
    def create(service: Any) -> Any:
        app = create_backend_app(service)
        app.debug = False
        return app

    threaded_moto_server.create_backend_app = create


def _list_handler_methods_once() -> None:
    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)


def _read_without_creating_partitions() -> None:
    from moto.dynamodb.models.table import Table

    get_item = Table.get_item

    @functools.wraps(get_item)
    def read(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        known = hash_key in self.items
        try:
            return get_item(self, hash_key, range_key, *args, **kwargs)
        finally:
            if not known and not self.items.get(hash_key, True):
                del self.items[hash_key]

    Table.get_item = read
