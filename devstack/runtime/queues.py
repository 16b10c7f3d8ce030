"""SQS queue → `@app.on_sqs_message` handler, like Lambda's event source mapping.

Long-polls, gathers up to batch_size messages (within the batching window), invokes, then
deletes what succeeded. A handler that raises fails the whole batch; one that returns
batchItemFailures fails only those messages. Failed messages are not deleted, so SQS
redelivers them and, past the queue's maxReceiveCount, its redrive policy moves them to the
DLQ: the same path as in AWS.

One local liberty: a failed message's visibility is cut to `retry_delay_s` instead of the
queue's full visibility timeout, so a retry takes a second, not thirty.
"""

from __future__ import annotations

import time
from typing import Any

from chalice.app import SQSEventConfig

from devstack.runtime import shapes
from devstack.runtime.invoker import Invoker
from devstack.runtime.loop import Loop

SQS_MAX_PER_RECEIVE = 10
LONG_POLL_S = 1


class QueuePoller(Loop):
    def __init__(
        self,
        config: SQSEventConfig,
        invoker: Invoker,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        retry_delay_s: int = 1,
    ) -> None:
        super().__init__(f"sqs:{config.name}", interval_s=0.0)
        self.config = config
        self.invoker = invoker
        self.sqs = sqs_client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.retry_delay_s = retry_delay_s

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(count, SQS_MAX_PER_RECEIVE),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def _gather(self) -> list[dict[str, Any]]:
        batch = self._receive(self.config.batch_size, LONG_POLL_S)
        window_ends = time.monotonic() + self.config.maximum_batching_window_in_seconds
        while batch and len(batch) < self.config.batch_size and not self.stopping:
            more = self._receive(self.config.batch_size - len(batch), 0)
            if not more:
                if time.monotonic() >= window_ends:
                    break
                time.sleep(0.05)
            batch.extend(more)
        return batch

    def step(self) -> None:
        messages = self._gather()
        if not messages:
            return
        records = [shapes.sqs_record(m, self.queue_arn, self.region) for m in messages]
        invocation = self.invoker.invoke(self.config.name, {"Records": records}, source=self.name)
        ids = {m["MessageId"] for m in messages}
        if not invocation.ok:
            failed = ids
        elif invocation.failed_items is None:
            failed = set()
        elif invocation.failed_items <= ids:
            failed = invocation.failed_items
        else:
            # Lambda treats a response naming unknown or empty ids as a failure of the batch.
            failed = ids
        self._settle(messages, failed)

    def _settle(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(done):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        for chunk in _chunks(retry):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.retry_delay_s}
                    for i, m in enumerate(chunk)
                ],
            )


def _chunks(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [messages[i : i + SQS_MAX_PER_RECEIVE] for i in range(0, len(messages), SQS_MAX_PER_RECEIVE)]
