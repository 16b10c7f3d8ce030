"""Corrections to moto that the local cloud needs to behave like DynamoDB.

moto rolls a cancelled TransactWriteItems back by swapping in a deep copy of each table taken
before the transaction, stream shard included. Stream readers hold iterators on the old
shard object, so they would (a) deliver the records the cancelled transaction wrote (writes
that never happened) and (b) never see a later write. DynamoDB streams only ever carry
committed changes, so after a rollback we keep the original shard object, drop the records
the transaction appended to it, and attach it to the restored table.
"""

from __future__ import annotations

import functools
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
    _applied = True
