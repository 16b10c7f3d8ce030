"""DynamoDB's per-request atomicity, which moto's threaded server does not have, and transactions
whose cost does not grow with the table.

1. Atomicity. moto evaluates a ConditionExpression and then applies the write as separate
   Python steps, and it rolls a cancelled TransactWriteItems back by swapping in copies of
   whole tables taken before it began. With concurrent requests, two conditional writes can
   both pass their checks (a product with stock 10 sold 12 times), and a rollback can erase
   writes that other requests committed meanwhile. DynamoDB applies each request atomically;
   serialising moto's DynamoDB requests gives the same guarantee. Reads wait too, so none
   sees half a transaction.
2. Cost. Those copies are deep copies of every table a transaction touches, taken on every
   transaction: a few hundred products made each order take a tenth of a second, with every
   other DynamoDB request waiting behind it. Once requests are serialised, nothing but the
   transaction itself changes the tables while it runs, so keeping the items it names (and
   the length of each stream) is a complete rollback: that is what is kept instead.
3. Streams. GetRecords takes the same lock, so a stream reader never sees the records of a
   transaction that is still running (and may yet be cancelled). A request that appended to
   a stream wakes the event runtime's stream pollers once it has completed.
4. Observers (the durable state's journal, devstack/state) see each request begin and end
   under the lock, so what they record is exactly what the request changed, in request order.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

_lock = threading.Lock()
_applied = False
# Tables whose streams the current request appended to; only touched under _lock.
_appended: set[str] = set()


class Observer(Protocol):
    def begin(self) -> None:
        """Under the lock, before a DynamoDB request runs."""

    def end(self, handler: Any, result: Any) -> Callable[[], None] | None:
        """Under the lock, after it ran (`result` is None if moto raised); what it returns runs
        once the lock is released, before the request is answered."""


observers: list[Observer] = []


@contextlib.contextmanager
def quiesced() -> Iterator[None]:
    """No DynamoDB request (stream reads included) runs while this is held."""
    with _lock:
        yield


class _TableSparingCopy:
    """moto's `copy` module for the duration of a transaction: whole tables are not copied
    (the items are, where moto needs an item's old image for the stream)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_item(backend: Any, operation: str, request: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """(table, hash key, range key) of the item one transaction entry writes; None if moto
    will refuse the entry anyway (it reports why)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = backend.get_table(request["TableName"])
        key = request["Item"] if operation == "Put" else request["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return None
    return table, hash_value, range_value


def _put_back(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items[hash_value].pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    from devstack.runtime.wakeup import stream_writes

    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def serialised(self: Any) -> Any:
        result = None
        with _lock:
            for observer in observers:
                observer.begin()
            try:
                result = call_action(self)
            finally:
                after = [observer.end(self, result) for observer in observers]
                for table in _appended:
                    stream_writes[table].notify()
                _appended.clear()
        for then in after:
            if then is not None:
                then()
        return result

    add = StreamShard.add

    @functools.wraps(add)
    def noted_add(self: Any, old: Any, new: Any) -> None:
        add(self, old, new)
        _appended.add(self.table.name)

    read_stream = DynamoDBStreamsHandler.call_action

    @functools.wraps(read_stream)
    def serialised_read(self: Any) -> Any:
        with _lock:
            return read_stream(self)

    transact_write_items = DynamoDBBackend.transact_write_items

    @functools.wraps(transact_write_items)
    def item_level_rollback(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = []
        for entry in transact_items:
            for operation, request in entry.items():
                named = _named_item(self, operation, request)
                if named is not None:
                    table, hash_value, range_value = named
                    before.append((*named, copy.deepcopy(table.get_item(hash_value, range_value))))
        streams = [(t.stream_shard, len(t.stream_shard.items)) for t in self.tables.values() if t.stream_shard]
        models.copy = _TableSparingCopy  # type: ignore[assignment]  # stands in for the copy module
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(before):
                _put_back(table, hash_value, range_value, item)
            # DynamoDB streams carry committed changes only.
            for shard, length in streams:
                del shard.items[length:]
            raise
        finally:
            models.copy = copy

    DynamoHandler.call_action = serialised
    StreamShard.add = noted_add
    DynamoDBStreamsHandler.call_action = serialised_read
    DynamoDBBackend.transact_write_items = item_level_rollback
    _applied = True
