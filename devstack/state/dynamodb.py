"""The embedded DynamoDB's durable state: table definitions and item images.

What a write request changed is recorded as the *images* of the items it touched, read after
it ran and before the request lock is released: `{"k": "ddb.items", "put": [item, ...], "del":
[key, ...]}`. Images rather than the requests themselves, so a replay needs no condition,
update expression or transaction logic (and cannot diverge from what moto did), and a
transaction is one record: all of it or nothing. Which items a request touched is noted by
hooks on the three places moto changes an item (Table.put_item, Table.delete_item,
DynamoDBBackend.update_item), which every write path goes through: PutItem, UpdateItem,
DeleteItem, BatchWriteItem, TransactWriteItems (cancelled ones record their unchanged
images), PartiQL.

Table definitions (key schema, indexes, stream and TTL settings, tags) are recorded whole,
for every table of the region, after a successful control request: they change rarely.

Restoring applies the images with every table's stream detached: the stream of a restored
table starts empty, so no handler is handed a write of an earlier run again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from devstack import moto_serial
from devstack.runtime.shapes import wire
from devstack.state.journal import CorruptState
from devstack.state.recorder import recorder

CONTROL_ACTIONS = frozenset(
    {"CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive", "TagResource", "UntagResource"}
)
ITEMS_PER_RECORD = 500


def _backends() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]


def _key_of(table: Any, attributes: dict[str, Any]) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_value = DynamoType(attributes[table.hash_key_attr])
        range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, AttributeError):
        return None
    return hash_value, range_value


def _key_attributes(table: Any, hash_value: Any, range_value: Any) -> dict[str, Any]:
    key = {table.hash_key_attr: hash_value.to_json()}
    if table.range_key_attr:
        key[table.range_key_attr] = range_value.to_json()
    return key


def _image(item: Any) -> dict[str, Any]:
    """An item as DynamoDB's JSON wire form (moto keeps some binary values as bytes)."""
    return wire(item.to_json()["Attributes"])


class _Touched:
    """The items the current DynamoDB request touched, in order. Only used under the request lock."""

    def __init__(self) -> None:
        self.keys: dict[tuple[Any, Any, Any], None] | None = None

    def note(self, table: Any, key: tuple[Any, Any] | None) -> None:
        if self.keys is not None and key is not None:
            self.keys[(table, *key)] = None

    def begin(self) -> None:
        self.keys = {} if recorder.recording else None

    def end(self, handler: Any, result: Any) -> Any:
        keys, self.keys = self.keys, None
        if keys is None:
            return None
        by_table: dict[Any, list[tuple[Any, Any]]] = {}
        for table, hash_value, range_value in keys:
            by_table.setdefault(table, []).append((hash_value, range_value))
        for table, touched in by_table.items():
            if _backends()[table.region_name].tables.get(table.name) is table:
                recorder.append(_items_record(table, touched))
        if result is not None and result[0] == 200 and handler._get_action() in CONTROL_ACTIONS:
            recorder.append(_tables_record(handler.region))
        return recorder.wait


_touched = _Touched()
_installed = False


def install() -> None:
    """Hook moto's DynamoDB so the recorder sees every change (recording starts later)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    put_item, delete_item, update_item = Table.put_item, Table.delete_item, DynamoDBBackend.update_item

    def noted_put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        _touched.note(self, _key_of(self, item_attrs))
        return put_item(self, item_attrs, *args, **kwargs)

    def noted_delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        _touched.note(self, (hash_key, range_key))
        return delete_item(self, hash_key, range_key)

    def noted_update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        if table is not None:
            _touched.note(table, _key_of(table, key))
        return update_item(self, table_name, key, *args, **kwargs)

    Table.put_item = noted_put_item
    Table.delete_item = noted_delete_item
    DynamoDBBackend.update_item = noted_update_item
    moto_serial.observers.append(_touched)
    _installed = True


def _items_record(table: Any, keys: list[tuple[Any, Any]]) -> dict[str, Any]:
    put, delete = [], []
    for hash_value, range_value in keys:
        item = table.get_item(hash_value, range_value)
        if item is None:
            delete.append(_key_attributes(table, hash_value, range_value))
        else:
            put.append(_image(item))
    return {"k": "ddb.items", "r": table.region_name, "t": table.name, "put": put, "del": delete}


def _index_definition(index: Any) -> dict[str, Any]:
    described = index.describe()
    definition = {name: described[name] for name in ("IndexName", "KeySchema", "Projection")}
    throughput = described.get("ProvisionedThroughput") or {}
    if throughput.get("ReadCapacityUnits"):
        definition["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput["ReadCapacityUnits"],
            "WriteCapacityUnits": throughput["WriteCapacityUnits"],
        }
    return definition


def _table_definition(table: Any) -> dict[str, Any]:
    provisioned = table.billing_mode != "PAY_PER_REQUEST" and table.throughput.get("ReadCapacityUnits")
    streams = table.stream_specification if (table.stream_specification or {}).get("StreamEnabled") else None
    return copy.deepcopy(
        {
            "name": table.name,
            "schema": table.schema,
            "attr": table.attr,
            "billing_mode": table.billing_mode,
            "throughput": (
                {k: table.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")} if provisioned else None
            ),
            "lsi": [_index_definition(index) for index in table.indexes],
            "gsi": [_index_definition(index) for index in table.global_indexes],
            "streams": streams,
            "ttl": table.ttl,
            "tags": table.tags,
            "sse": table.sse_specification,
            "deletion_protection": table.deletion_protection_enabled,
        }
    )


def _tables_record(region: str) -> dict[str, Any]:
    tables = _backends()[region].tables.values()
    return {"k": "ddb.tables", "r": region, "tables": [_table_definition(t) for t in tables]}


def export() -> Iterator[dict[str, Any]]:
    """The whole state: every region's table definitions, then their items in chunks."""
    for region, backend in list(_backends().items()):
        if not backend.tables:
            continue
        yield _tables_record(region)
        for table in backend.tables.values():
            items = table.all_items()
            for start in range(0, len(items), ITEMS_PER_RECORD):
                chunk = [_image(item) for item in items[start : start + ITEMS_PER_RECORD]]
                yield {"k": "ddb.items", "r": region, "t": table.name, "put": chunk, "del": []}


class Restorer:
    kinds = ("ddb.tables", "ddb.items")

    def __init__(self) -> None:
        # Streams stay off while the past is replayed (see the module docstring).
        self._detached: dict[Any, Any] = {}

    def apply(self, record: dict[str, Any]) -> None:
        backend = _backends()[record["r"]]
        if record["k"] == "ddb.tables":
            self._define(backend, record["tables"])
            return
        table = backend.tables.get(record["t"])
        if table is None:
            return
        for attributes in record["put"]:
            table.put_item(attributes, overwrite=True)
        for key in record["del"]:
            found = _key_of(table, key)
            if found is None:
                raise CorruptState(f"a deleted key of table {table.name} lacks its key attributes: {key}")
            table.delete_item(*found)

    def _define(self, backend: Any, definitions: list[dict[str, Any]]) -> None:
        from moto.dynamodb.models.table import GlobalSecondaryIndex

        wanted = {definition["name"]: definition for definition in definitions}
        for name in [name for name in backend.tables if name not in wanted]:
            self._detached.pop(backend.tables.pop(name), None)
        for name, definition in wanted.items():
            table = backend.tables.get(name)
            if table is None:
                table = backend.create_table(
                    name,
                    schema=definition["schema"],
                    throughput=definition["throughput"],
                    attr=definition["attr"],
                    global_indexes=definition["gsi"],
                    indexes=definition["lsi"],
                    streams=copy.deepcopy(definition["streams"]),
                    billing_mode=definition["billing_mode"],
                    sse_specification=definition["sse"],
                    tags=definition["tags"],
                    deletion_protection_enabled=definition["deletion_protection"],
                    warm_throughput=None,
                )
                self._detached[table] = table.stream_shard
                table.stream_shard = None
            else:
                table.global_indexes = [
                    GlobalSecondaryIndex.create(d, table.table_key_attrs) for d in definition["gsi"]
                ]
                table.tags = definition["tags"]
            table.ttl = definition["ttl"]

    def finish(self) -> None:
        for table, shard in self._detached.items():
            table.stream_shard = shard
        self._detached.clear()

    @staticmethod
    def count() -> int:
        """Items in every table, as restored."""
        return sum(len(table) for backend in _backends().values() for table in backend.tables.values())
