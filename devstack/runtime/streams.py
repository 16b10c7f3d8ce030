"""DynamoDB stream → `@app.on_dynamodb_record` handler, like Lambda's event source mapping.

Per shard, in order: read up to batch_size records, invoke, and move on only when the batch
succeeded. A failure (an exception, or batchItemFailures naming a record) retries from the
first failed record, with backoff, up to max_attempts; then the batch is reported to the
table's failure queue (Lambda's on-failure destination) and the shard moves past it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from chalice.app import DynamoDBEventConfig

from devstack.runtime import shapes
from devstack.runtime.invoker import Invoker
from devstack.runtime.loop import Loop
from devstack.runtime.wakeup import Wakeup

log = logging.getLogger("devstack.runtime")

SHARD_REFRESH_S = 5.0
# Doubling backoff stops growing here, so a long retry budget keeps probing a recovering backend.
MAX_BACKOFF_S = 30.0


@dataclass
class ShardCursor:
    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    retry_at: float = 0.0
    last_sequence: str | None = None
    closed: bool = False


class StreamPoller(Loop):
    def __init__(
        self,
        config: DynamoDBEventConfig,
        invoker: Invoker,
        streams_client: Any,
        sqs_client: Any,
        region: str,
        failure_queue_url: str | None,
        interval_s: float = 0.2,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        wakeup: Wakeup | None = None,
    ) -> None:
        super().__init__(f"stream:{config.name}", interval_s)
        self.wakeup = wakeup
        self._seen = 0
        self._delivered = False
        # The wakeup count as of the last step that found every shard drained; -1: not yet.
        self._drained_at = -1
        self.config = config
        self.invoker = invoker
        self.streams = streams_client
        self.sqs = sqs_client
        self.region = region
        self.failure_queue_url = failure_queue_url
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.cursors: dict[str, ShardCursor] = {}
        self._shards_checked = 0.0
        self._initial = True

    def _refresh_shards(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.config.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self.cursors:
                continue
            # Shards present at start follow the mapping's starting position; shards that appear
            # later (splits) are read from their beginning so nothing is skipped.
            position = self.config.starting_position if self._initial else "TRIM_HORIZON"
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.config.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self.cursors[shard_id] = ShardCursor(shard_id, iterator)
        self._initial = False
        self._shards_checked = time.monotonic()

    def step(self) -> None:
        if self.wakeup is not None:
            # Taken before reading, so a write that lands during this step wakes the next pause.
            self._seen = self.wakeup.count
        if not self.cursors or time.monotonic() - self._shards_checked > SHARD_REFRESH_S:
            self._refresh_shards()
        self._delivered = False
        for cursor in list(self.cursors.values()):
            if not cursor.closed:
                self._delivered |= self._advance(cursor)
        drained = not self._delivered and not any(cursor.pending for cursor in self.cursors.values())
        self._drained_at = self._seen if drained else -1

    @property
    def caught_up(self) -> bool:
        """Every write the table's wakeup has counted so far has been delivered (or given up on):
        a step that began after the last of them read every shard to its end. A test's barrier
        between a write and what its stream handler does; unknowable without a wakeup."""
        return self.wakeup is not None and self._drained_at == self.wakeup.count

    def pause(self) -> None:
        if self._delivered:
            # A shard can hold more than one batch: read on at once, as Lambda does.
            return
        if self.wakeup is None:
            super().pause()
        else:
            self.wakeup.wait(self._seen, self.interval_s)

    def _fetch(self, cursor: ShardCursor) -> None:
        try:
            response = self.streams.get_records(ShardIterator=cursor.iterator, Limit=self.config.batch_size)
        except self.streams.exceptions.ExpiredIteratorException:
            cursor.iterator = self._iterator_after(cursor)
            return
        cursor.pending = [shapes.dynamodb_record(r, self.config.stream_arn, self.region) for r in response["Records"]]
        cursor.iterator = response.get("NextShardIterator")

    def _iterator_after(self, cursor: ShardCursor) -> str:
        """A new iterator just past the last record delivered; the oldest kept record if the
        stream no longer keeps that one (DynamoDB's 24 hours, or the local cloud's trimming)."""
        shard = {"StreamArn": self.config.stream_arn, "ShardId": cursor.shard_id}
        if cursor.last_sequence:
            try:
                return self.streams.get_shard_iterator(
                    **shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=cursor.last_sequence
                )["ShardIterator"]
            except self.streams.exceptions.TrimmedDataAccessException:
                log.error(
                    "stream records trimmed before delivery",
                    extra={"handler": self.config.name, "after": cursor.last_sequence},
                )
        return self.streams.get_shard_iterator(**shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def _advance(self, cursor: ShardCursor) -> bool:
        """Deliver the shard's next batch; True when one was delivered and succeeded."""
        if not cursor.pending and cursor.iterator is not None:
            self._fetch(cursor)
        if not cursor.pending:
            # No next iterator: the shard is closed (a split, a disabled stream) and drained.
            cursor.closed = cursor.iterator is None
            return False
        if time.monotonic() < cursor.retry_at:
            return False
        batch = cursor.pending[: self.config.batch_size]
        invocation = self.invoker.invoke(self.config.name, {"Records": batch}, source=self.name)
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if invocation.ok and not invocation.failed_items:
            self._done(cursor, len(batch))
            return True
        first_failed = 0
        if invocation.ok and invocation.failed_items:
            known = [sequences.index(s) for s in invocation.failed_items if s in sequences]
            # An identifier that is not in the batch makes Lambda retry the whole batch.
            first_failed = min(known) if len(known) == len(invocation.failed_items) else 0
        # Records before the first failure succeeded: checkpoint past them.
        self._done(cursor, first_failed)
        cursor.attempts += 1
        if cursor.attempts >= self.max_attempts:
            self._give_up(cursor, cursor.pending[: len(batch) - first_failed])
        else:
            cursor.retry_at = time.monotonic() + min(MAX_BACKOFF_S, self.backoff_s * 2 ** (cursor.attempts - 1))
        return False

    def _done(self, cursor: ShardCursor, count: int) -> None:
        if count:
            cursor.last_sequence = cursor.pending[count - 1]["dynamodb"]["SequenceNumber"]
            del cursor.pending[:count]
            cursor.attempts = 0
            cursor.retry_at = 0.0

    def _give_up(self, cursor: ShardCursor, records: list[dict[str, Any]]) -> None:
        failure = shapes.stream_failure_record(
            records,
            cursor.shard_id,
            self.config.stream_arn,
            self.invoker.function_arn(self.config.name),
            cursor.attempts,
        )
        if self.failure_queue_url:
            self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(failure))
        log.error(
            "stream batch discarded after retries",
            extra={"handler": self.config.name, "batch": failure["DDBStreamBatchInfo"]},
        )
        self._done(cursor, len(records))
