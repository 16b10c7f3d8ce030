"""Small hand-written fakes of the AWS clients and the clock the event runtime drives, and of
the clients a composition root is handed (`FakeClients`; the stores' fakes are fake_stores.py).

They answer in the shapes botocore returns (datetimes, bytes) and refuse what botocore's
parameter validation refuses, so the pollers are exercised against realistic responses
without a network.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ParamValidationError

REGION = "us-east-1"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/sp-test-orders/stream/2024-01-01T00:00:00.000"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/sp-test-jobs"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:sp-test-jobs"
FAILURE_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/sp-test-orders-failures"

BASE_TIME = datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


def stream_record(seq: int, name: str = "INSERT", pk: str | None = None) -> dict[str, Any]:
    """A record as botocore's dynamodbstreams.get_records returns it (datetime, raw bytes)."""
    key = {"pk": {"S": pk or f"item-{seq}"}}
    return {
        "eventID": f"event-{seq}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": BASE_TIME + datetime.timedelta(seconds=seq),
            "Keys": key,
            "NewImage": {**key, "n": {"N": str(seq)}, "blob": {"B": bytes([seq % 256])}},
            "SequenceNumber": seq_id(seq),
            "SizeBytes": 20 + seq,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def seq_id(seq: int) -> str:
    return f"{seq:021d}"


class _StreamsExceptions:
    class ExpiredIteratorException(Exception):
        pass

    class TrimmedDataAccessException(Exception):
        pass


class FakeStreams:
    """dynamodbstreams over in-memory shards. Iterators are opaque `shard@position` strings."""

    exceptions = _StreamsExceptions

    def __init__(self, shards: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.shards: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in (shards or {}).items()}
        self.closed: set[str] = set()
        self.expire_next: set[str] = set()
        # Sequence numbers the stream no longer keeps, per shard (trim()).
        self.trimmed: dict[str, set[str]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # Runs inside every GetRecords: what else happens while the poller is reading.
        self.during_get_records: Callable[[], None] = lambda: None

    def add_shard(self, shard_id: str, records: list[dict[str, Any]] | None = None) -> None:
        self.shards[shard_id] = list(records or [])

    def trim(self, shard_id: str, count: int) -> None:
        """Drop the shard's oldest records, as a stream does past its retention."""
        gone, self.shards[shard_id] = self.shards[shard_id][:count], self.shards[shard_id][count:]
        self.trimmed.setdefault(shard_id, set()).update(r["dynamodb"]["SequenceNumber"] for r in gone)

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("describe_stream", kwargs))
        assert kwargs == {"StreamArn": STREAM_ARN}
        return {
            "StreamDescription": {
                "StreamArn": STREAM_ARN,
                "StreamStatus": "ENABLED",
                "Shards": [{"ShardId": shard_id} for shard_id in self.shards],
            }
        }

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_shard_iterator", kwargs))
        assert kwargs["StreamArn"] == STREAM_ARN
        shard_id, kind = kwargs["ShardId"], kwargs["ShardIteratorType"]
        records = self.shards[shard_id]
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        if kwargs.get("SequenceNumber") in self.trimmed.get(shard_id, ()):
            raise self.exceptions.TrimmedDataAccessException("trimmed")
        if kind == "TRIM_HORIZON":
            position = 0
        elif kind == "LATEST":
            position = len(records)
        elif kind == "AFTER_SEQUENCE_NUMBER":
            position = sequences.index(kwargs["SequenceNumber"]) + 1
        elif kind == "AT_SEQUENCE_NUMBER":
            position = sequences.index(kwargs["SequenceNumber"])
        else:
            raise AssertionError(f"unexpected ShardIteratorType {kind!r}")
        return {"ShardIterator": f"{shard_id}@{position}"}

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_records", kwargs))
        self.during_get_records()
        iterator = kwargs.get("ShardIterator")
        if not isinstance(iterator, str):
            # What botocore's parameter validation does before any request is sent.
            raise ParamValidationError(report=f"Invalid type for parameter ShardIterator, value: {iterator!r}")
        shard_id, position = iterator.rsplit("@", 1)
        if shard_id in self.expire_next:
            self.expire_next.discard(shard_id)
            raise self.exceptions.ExpiredIteratorException("Iterator expired")
        start = int(position)
        chunk = self.shards[shard_id][start : start + kwargs["Limit"]]
        end = start + len(chunk)
        response: dict[str, Any] = {"Records": [dict(r) for r in chunk]}
        if not (shard_id in self.closed and end >= len(self.shards[shard_id])):
            response["NextShardIterator"] = f"{shard_id}@{end}"
        return response

    def get_records_calls(self, shard_id: str | None = None) -> list[dict[str, Any]]:
        return [
            kwargs
            for name, kwargs in self.calls
            if name == "get_records"
            and (shard_id is None or str(kwargs.get("ShardIterator", "")).startswith(f"{shard_id}@"))
        ]

    def iterator_requests(self) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == "get_shard_iterator"]


def sqs_message(n: int, body: str | None = None, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body if body is not None else f'{{"n": {n}}}'
    message: dict[str, Any] = {
        "MessageId": f"msg-{n}",
        "ReceiptHandle": f"rh-{n}",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1709294400000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1709294400001",
        },
    }
    if attributes:
        message["MessageAttributes"] = attributes
        message["MD5OfMessageAttributes"] = "0" * 32
    return message


class FakeSQS:
    """The SQS calls the pollers make. Received messages leave the queue (they are in flight)."""

    def __init__(self, messages: list[dict[str, Any]] | None = None) -> None:
        self.queue: list[dict[str, Any]] = list(messages or [])
        self.receives: list[dict[str, Any]] = []
        self.deletes: list[list[dict[str, Any]]] = []
        self.visibility_changes: list[list[dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["QueueUrl"] == QUEUE_URL
        count = kwargs["MaxNumberOfMessages"]
        if not 1 <= count <= 10:
            raise ParamValidationError(report=f"MaxNumberOfMessages must be 1..10, got {count}")
        self.receives.append(kwargs)
        batch, self.queue = self.queue[:count], self.queue[count:]
        # SQS omits "Messages" entirely when none arrived.
        return {"Messages": batch} if batch else {}

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["QueueUrl"] == QUEUE_URL
        assert 1 <= len(kwargs["Entries"]) <= 10
        self.deletes.append(kwargs["Entries"])
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}

    def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["QueueUrl"] == QUEUE_URL
        assert 1 <= len(kwargs["Entries"]) <= 10
        self.visibility_changes.append(kwargs["Entries"])
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": f"sent-{len(self.sent)}", "MD5OfMessageBody": "0" * 32}

    @property
    def deleted_handles(self) -> list[str]:
        return [e["ReceiptHandle"] for chunk in self.deletes for e in chunk]

    @property
    def retried_handles(self) -> list[str]:
        return [e["ReceiptHandle"] for chunk in self.visibility_changes for e in chunk]


class FakeClock:
    """A settable UTC clock for the scheduler."""

    def __init__(self, now: datetime.datetime = BASE_TIME) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta: float) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now


class FakeMonotonic:
    """Stands in for the `time` module inside a poller so backoff can be stepped through."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now


class FakeClients:
    """What a composition root is handed in a service test: Redis in memory (fakeredis), and no
    AWS or OpenSearch at all, so a test that reaches for them fails loudly instead of dialling."""

    def __init__(self) -> None:
        import fakeredis

        self._redis = fakeredis.FakeRedis()

    def redis(self) -> Any:
        return self._redis

    def aws(self, service: str) -> Any:
        raise AssertionError(f"a service test asked for the AWS {service} client")

    def opensearch(self) -> Any:
        raise AssertionError("a service test asked for the OpenSearch client")
