"""Stream and queue batches: the one place a partial batch response (`batchItemFailures`) is
written, by aws-lambda-powertools' BatchProcessor, under the failure policy of each source.

Handlers come in two shapes. A record handler does one record's work (`each`): the processor
calls it per record and reports the records it raised on. A batch handler does the whole
batch's work at once (one bulk request to OpenSearch, one publish of many events) and knows
afterwards which records failed (`report`). Both end in the same processor, so the response's
shape and the policies below live here only; devstack's runtime reads that response as Lambda's
event source mappings do (devstack/runtime/streams.py, queues.py).

The policies (docs/events.md says which handler uses which, and why):

- MESSAGES, for SQS queues: each failed message alone becomes visible again and is retried
  (after the queue's receive limit it goes to its dead-letter queue); the others are deleted.
- EACH_RECORD, for a stream whose records do not depend on each other: every record is
  handled and every failure reported; Lambda checkpoints before the lowest reported one and
  delivers the shard again from there, so the records after it are handled again (they must be
  idempotent).
- FROM_FIRST_FAILURE, for a stream whose records must take effect in order: once a record
  fails, the records after it are not handed to the handler; the first failure alone is
  reported and the shard is delivered again from it, so nothing after a failure gets ahead
  of it.

Powertools is imported on the first batch, not with app.py: it adds a tenth of a second to a
cold start that HTTP-only invocations would pay for nothing.
"""

from __future__ import annotations

import decimal
import enum
import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chalicelib.jsonlog import get_logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor

log = get_logger("batch")


class Record(Protocol):
    """What a handler's records offer: Chalice's SQSRecord and DynamoDBRecord, as Lambda sent them."""

    def to_dict(self) -> dict[str, Any]: ...


class Message(Record, Protocol):
    """An SQS record: Chalice's SQSRecord."""

    @property
    def body(self) -> str: ...


R = TypeVar("R", bound=Record)


class Policy(enum.Enum):
    MESSAGES = "messages"
    EACH_RECORD = "each-record"
    FROM_FIRST_FAILURE = "from-first-failure"

    @property
    def is_stream(self) -> bool:
        return self is not Policy.MESSAGES

    def identifier(self, record: Mapping[str, Any]) -> str:
        """The record's `itemIdentifier`: a message id, or a stream record's sequence number."""
        return str(record["dynamodb"]["SequenceNumber"] if self.is_stream else record["messageId"])


class RecordFailed(Exception):
    """A record a batch handler found failed, reported through the processor."""


def each(
    records: Iterable[R],
    handle: Callable[[R], object],
    policy: Policy,
    failure: str,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hand each record to `handle`; the records it raised on (logged as `failure`, with
    `context`), as the partial batch response `policy` asks for."""
    given = list(records)
    by_identifier = {policy.identifier(record.to_dict()): record for record in given}

    def record_handler(record: Any) -> None:
        identifier = policy.identifier(record.raw_event)
        try:
            handle(by_identifier[identifier])
        except Exception:
            log.exception(failure, extra={**(context or {}), "item_identifier": identifier})
            raise

    processor = _processor(policy)
    with processor([record.to_dict() for record in given], record_handler):
        processor.process()
    return dict(processor.response())


def report(records: Iterable[R], failed: Collection[str], policy: Policy) -> dict[str, Any]:
    """The partial batch response of a batch handled as a whole: `failed` holds the
    identifiers of the records whose work did not succeed (the handler has logged why)."""

    def settle(record: R) -> None:
        if policy.identifier(record.to_dict()) in failed:
            raise RecordFailed("the batch's work for this record failed")

    return each(records, settle, policy, "record failed in its batch")


def _processor(policy: Policy) -> BatchProcessor:
    # One per batch: a processor holds the outcomes of the batch it is processing.
    return _processor_classes()[policy](event_type=_event_type(policy), raise_on_entire_batch_failure=False)


def _event_type(policy: Policy) -> Any:
    from aws_lambda_powertools.utilities.batch import EventType

    return EventType.DynamoDBStreams if policy.is_stream else EventType.SQS


@functools.cache
def _processor_classes() -> dict[Policy, type[BatchProcessor]]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor

    class InOrderProcessor(BatchProcessor):
        """Stops at the first failure (as Powertools' SqsFifoPartialProcessor does) but reports
        that record alone: a stream is delivered again from the lowest reported record, so
        the records after it come back without being named."""

        def _process_record(self, record: dict[str, Any]) -> Any:
            if self.fail_messages:
                return ("skipped", None, record)
            return super()._process_record(record)

    return {
        Policy.MESSAGES: BatchProcessor,
        Policy.EACH_RECORD: BatchProcessor,
        Policy.FROM_FIRST_FAILURE: InOrderProcessor,
    }


# -- DynamoDB images -----------------------------------------------------------------------


def image(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stream record's image (DynamoDB's typed JSON) as plain Python, by boto3's
    TypeDeserializer; {} for an absent image. Numbers are ints when written without a
    fraction, floats otherwise: what the events and index documents made of them carry."""
    if not attributes:
        return {}
    deserializer = _deserializer()
    return {name: _plain(deserializer.deserialize(value)) for name, value in attributes.items()}


@functools.cache
def _deserializer() -> Any:
    # boto3 is in every Lambda runtime and loaded by the first AWS call anyway; not at import.
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, set):
        return {_plain(item) for item in value}
    return value
