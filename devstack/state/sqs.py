"""The embedded SQS's durable state: queue definitions and the messages not yet deleted.

Messages are recorded where moto changes them, whatever the path (SendMessage, batches,
EventBridge targets, redrive to a DLQ):

- `sqs.add`: a message entered a queue, with everything that describes it (id, body,
  attributes, timestamps, receive count, FIFO group, deduplication id, delay). The same id
  entering another queue is a move (redrive).
- `sqs.recv`: a message was received; only its receive count matters (redrive counts receives),
  so this record does not make the ReceiveMessage wait for the disk.
- `sqs.del` and `sqs.purge`: messages left a queue.

A restored message is visible at once, with its receive count: a message that was in flight
when the stack stopped is delivered again, as SQS does when a consumer dies before deleting.
A delayed one keeps its delay. Queue definitions are recorded whole after a control request.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from typing import Any

from devstack.state.recorder import recorded_requests, recorder, whole_region

CONTROL_ACTIONS = frozenset(
    {"CreateQueue", "DeleteQueue", "SetQueueAttributes", "TagQueue", "UntagQueue", "AddPermission", "RemovePermission"}
)
# What GetQueueAttributes reports but nobody sets.
READ_ONLY_ATTRIBUTES = frozenset({"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"})


def _backends() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID]


def _message(message: Any) -> dict[str, Any]:
    attributes, binary = {}, []
    for name, value in message.message_attributes.items():
        if isinstance(value.get("BinaryValue"), bytes):
            value = {**value, "BinaryValue": base64.b64encode(value["BinaryValue"]).decode()}
            binary.append(name)
        attributes[name] = value
    return {
        "id": message.id,
        "body": message.body,
        "attributes": attributes,
        "binary": binary,
        "system": message.system_attributes,
        "sender": message.sender_id,
        "sent": message.sent_timestamp,
        "first_receive": message.approximate_first_receive_timestamp,
        "receives": message.approximate_receive_count,
        "group": message.group_id,
        "dedup": message.deduplication_id,
        "sequence": message.sequence_number,
        "delayed_until": message.delayed_until,
    }


def _restored_message(fields: dict[str, Any]) -> Any:
    from moto.sqs.models import Message

    message = Message(fields["id"], fields["body"], fields["system"])
    message.message_attributes = fields["attributes"]
    for name in fields["binary"]:
        value = message.message_attributes[name]
        value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
    message.sender_id = fields["sender"]
    message.sent_timestamp = fields["sent"]
    message.approximate_first_receive_timestamp = fields["first_receive"]
    message.approximate_receive_count = fields["receives"]
    message.group_id = fields["group"]
    message.deduplication_id = fields["dedup"]
    message.sequence_number = fields["sequence"]
    message.delayed_until = fields["delayed_until"]
    return message


def _queue_definition(queue: Any) -> dict[str, Any]:
    names = [*queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
    current = queue.attributes
    attributes = {
        name: current[name]
        for name in names
        if name not in READ_ONLY_ATTRIBUTES and not name.startswith("Approximate") and current.get(name) is not None
    }
    return {"name": queue.name, "attributes": attributes, "tags": dict(queue.tags or {})}


def _queues_record(region: str) -> dict[str, Any]:
    queues = _backends()[region].queues.values()
    return {"k": "sqs.queues", "r": region, "queues": [_queue_definition(q) for q in queues]}


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.sqs.models import Message, Queue, SQSBackend
    from moto.sqs.responses import SQSResponse

    add_message, delete_message = Queue.add_message, Queue.delete_message
    mark_received, purge_queue = Message.mark_received, SQSBackend.purge_queue

    @functools.wraps(add_message)
    def recorded_add(self: Any, message: Any) -> None:
        with recorder.lock:
            add_message(self, message)
            # FIFO deduplication may have dropped it.
            if recorder.recording and self._messages and self._messages[-1] is message:
                recorder.append({"k": "sqs.add", "r": self.region, "q": self.name, "m": _message(message)})

    @functools.wraps(delete_message)
    def recorded_delete(self: Any, receipt_handle: str) -> None:
        if not recorder.recording:
            return delete_message(self, receipt_handle)
        with recorder.lock:
            ids = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
            delete_message(self, receipt_handle)
            if ids:
                recorder.append({"k": "sqs.del", "r": self.region, "q": self.name, "ids": ids})

    @functools.wraps(mark_received)
    def recorded_receive(self: Any, *args: Any, **kwargs: Any) -> None:
        with recorder.lock:
            mark_received(self, *args, **kwargs)
            record = {"k": "sqs.recv", "id": self.id, "n": self.approximate_receive_count}
            recorder.append(record, durable=False)

    @functools.wraps(purge_queue)
    def recorded_purge(self: Any, queue_name: str) -> None:
        with recorder.lock:
            purge_queue(self, queue_name)
            recorder.append({"k": "sqs.purge", "r": self.region_name, "q": queue_name})

    Queue.add_message = recorded_add
    Queue.delete_message = recorded_delete
    Message.mark_received = recorded_receive
    SQSBackend.purge_queue = recorded_purge
    recorded_requests(SQSResponse, CONTROL_ACTIONS.__contains__, whole_region(_queues_record))
    _installed = True


def export() -> Iterator[dict[str, Any]]:
    for region, backend in list(_backends().items()):
        if not backend.queues:
            continue
        yield _queues_record(region)
        for queue in list(backend.queues.values()):
            for message in list(queue._messages):
                yield {"k": "sqs.add", "r": region, "q": queue.name, "m": _message(message)}


class Restorer:
    kinds = ("sqs.queues", "sqs.add", "sqs.recv", "sqs.del", "sqs.purge")

    def __init__(self, redeliver: frozenset[str] = frozenset()) -> None:
        # Queues whose consumed messages come back after a restart: their consumer's only
        # effect is data the restart rebuilds from them (the log indexes).
        self.redeliver = redeliver
        self.redelivered = 0
        # Message id → (queue, message), for moves, receives and deletes.
        self._where: dict[str, tuple[Any, Any]] = {}

    def apply(self, record: dict[str, Any]) -> None:
        kind = record["k"]
        if kind == "sqs.recv":
            if record["id"] in self._where:
                self._where[record["id"]][1].approximate_receive_count = record["n"]
            return
        backend = _backends()[record["r"]]
        if kind == "sqs.queues":
            self._define(backend, record["queues"])
            return
        queue = backend.queues.get(record["q"])
        if queue is None:
            return
        if kind == "sqs.add":
            message = _restored_message(record["m"])
            self._remove(message.id)
            queue._messages.append(message)
            self._where[message.id] = (queue, message)
        elif kind == "sqs.del" and queue.name in self.redeliver:
            self.redelivered += len(record["ids"])
        elif kind == "sqs.del":
            for message_id in record["ids"]:
                self._remove(message_id)
        elif kind == "sqs.purge":
            for message in queue._messages:
                self._where.pop(message.id, None)
            queue._messages = []

    def _remove(self, message_id: str) -> None:
        if message_id in self._where:
            queue, message = self._where.pop(message_id)
            queue._messages.remove(message)

    def _define(self, backend: Any, definitions: list[dict[str, Any]]) -> None:
        wanted = {definition["name"]: definition for definition in definitions}
        for name in [name for name in backend.queues if name not in wanted]:
            for message in backend.queues.pop(name)._messages:
                self._where.pop(message.id, None)
        # A redrive policy names its dead-letter queue, which must exist first.
        ordered = sorted(wanted.values(), key=lambda d: "RedrivePolicy" in d["attributes"])
        for definition in ordered:
            queue = backend.queues.get(definition["name"])
            if queue is None:
                backend.create_queue(definition["name"], tags=definition["tags"], **definition["attributes"])
            else:
                backend.set_queue_attributes(definition["name"], definition["attributes"])
                queue.tags = definition["tags"]

    @property
    def messages(self) -> int:
        return len(self._where)

    def finish(self) -> None:
        pass
