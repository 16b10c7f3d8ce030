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
"""

from __future__ import annotations

import functools
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

    every_attribute = Queue.attributes
    sending = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(sending, "active", False):
            return every_attribute.fget(self)
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

    Queue.attributes = property(attributes)
    SQSBackend.send_message = send_without_counting
