"""The local cloud's corrections to moto keep moto's answers: checked in-process with mock_aws."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack import moto_patches


@mock_aws
def test_sending_skips_the_message_count_but_not_deduplication_or_the_counts_themselves() -> None:
    moto_patches.apply()
    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(
        QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]

    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same body", MessageGroupId="g")
    sqs.send_message_batch(QueueUrl=plain, Entries=[{"Id": str(n), "MessageBody": "same body"} for n in range(3)])

    def count(url: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"]

    assert count(fifo) == "1"  # the second send was a duplicate by content
    assert count(plain) == "3"
    fifo_attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert fifo_attributes["ContentBasedDeduplication"] == "true"


@mock_aws
def test_a_fifo_queue_without_content_deduplication_still_requires_an_id() -> None:
    moto_patches.apply()
    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(QueueName="ids.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError, match="ContentBasedDeduplication"):
        sqs.send_message(QueueUrl=fifo, MessageBody="no id", MessageGroupId="g")
