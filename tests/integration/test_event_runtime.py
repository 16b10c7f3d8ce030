"""The event runtime delivers real moto stream records, SQS messages and schedules to a
Chalice app's handlers in Lambda's shapes, over real sockets."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.probe_app import probe_env
from tests.support.stack import start_stack, wait_for

PREFIX = "sp-local"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    journal = tmp_path_factory.mktemp("probe") / "journal.jsonl"
    stack = start_stack({**probe_env(journal), "DEVSTACK_STREAM_BACKOFF_S": "0.1"})
    yield stack, journal
    stack.stop()


@pytest.fixture(scope="module")
def aws(probe):
    stack, _ = probe
    return stack.aws


def entries(journal: Path, kind: str) -> list[dict]:
    lines = journal.read_text(encoding="utf-8").splitlines()
    return [entry["payload"] for entry in map(json.loads, lines) if entry["kind"] == kind]


def test_dynamodb_writes_reach_the_stream_handler_in_lambda_shape_and_order(probe, aws):
    _, journal = probe
    table = f"{PREFIX}-probe"
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "order-1"}, "n": {"N": "1"}, "blob": {"B": b"\x00\x01"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "order-1"}, "n": {"N": "2"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "order-1"}})

    def delivered():
        found = [r for r in entries(journal, "stream") if r["dynamodb"]["Keys"]["pk"]["S"] == "order-1"]
        return found if len(found) == 3 else None

    insert, modify, remove = wait_for(delivered)
    assert [insert["eventName"], modify["eventName"], remove["eventName"]] == ["INSERT", "MODIFY", "REMOVE"]
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["awsRegion"] == "us-east-1"
    assert insert["eventSourceARN"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/")
    body = insert["dynamodb"]
    assert isinstance(body["ApproximateCreationDateTime"], float)
    assert abs(body["ApproximateCreationDateTime"] - time.time()) < 60
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert body["NewImage"] == {"pk": {"S": "order-1"}, "n": {"N": "1"}, "blob": {"B": "AAE="}}
    assert "OldImage" not in body
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in (insert, modify, remove)]
    assert sequences == sorted(sequences)


def test_settle_returns_once_the_stream_handler_has_every_write_so_far(probe, aws):
    stack, journal = probe
    dynamodb = aws("dynamodb")
    keys = [f"settle-{n}" for n in range(200)]
    for start in range(0, len(keys), 25):
        puts = [{"PutRequest": {"Item": {"pk": {"S": key}}}} for key in keys[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={f"{PREFIX}-probe": puts})

    stack.settle()

    delivered = {r["dynamodb"]["Keys"]["pk"]["S"] for r in entries(journal, "stream")}
    assert set(keys) <= delivered


def test_a_poisoned_stream_record_is_retried_then_reported_and_the_shard_moves_on(probe, aws):
    stack, journal = probe
    table = f"{PREFIX}-probe"
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "poison-1"}, "poison": {"BOOL": True}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "after-poison"}})

    sqs = aws("sqs")
    failures_url = sqs.get_queue_url(QueueName=f"{PREFIX}-probe-stream-failures")["QueueUrl"]

    def reported():
        return sqs.receive_message(QueueUrl=failures_url, WaitTimeSeconds=1).get("Messages")

    failure = json.loads(wait_for(reported, timeout_s=15)[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] >= 1
    assert info["streamArn"].split("/stream/")[0].endswith(table)
    # The record after the poisoned one is still delivered, once.
    wait_for(lambda: [r for r in entries(journal, "stream") if r["dynamodb"]["Keys"]["pk"]["S"] == "after-poison"])

    def poisoned_invocations():
        return [
            entry
            for entry in stack.logs("invocation")
            if entry["handler"] == "on_probe_record" and entry["failed_items"]
        ]

    wait_for(lambda: len(poisoned_invocations()) >= 3)
    assert len(poisoned_invocations()) == 3


def test_sqs_partial_batch_failure_sends_only_the_failing_message_to_the_dlq(probe, aws):
    _, journal = probe
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-probe-jobs")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=f"{PREFIX}-probe-jobs-dlq")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "1",
                "MessageBody": "ok-1",
                "MessageAttributes": {"tenant": {"DataType": "String", "StringValue": "a"}},
            },
            {"Id": "2", "MessageBody": "fail-2"},
            {"Id": "3", "MessageBody": "ok-3"},
        ],
    )

    def dead_lettered():
        return sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages")

    dead = wait_for(dead_lettered, timeout_s=20)
    assert [m["Body"] for m in dead] == ["fail-2"]
    delivered = entries(journal, "sqs")
    by_body = {}
    for record in delivered:
        by_body.setdefault(record["body"], []).append(record)
    # The siblings succeeded once each; the failing one was tried maxReceiveCount (2) times.
    assert len(by_body["ok-1"]) == 1
    assert len(by_body["ok-3"]) == 1
    assert [r["attributes"]["ApproximateReceiveCount"] for r in by_body["fail-2"]] == ["1", "2"]
    ok = by_body["ok-1"][0]
    assert ok["eventSource"] == "aws:sqs"
    assert ok["eventSourceARN"] == f"arn:aws:sqs:us-east-1:123456789012:{PREFIX}-probe-jobs"
    assert ok["messageAttributes"]["tenant"] == {
        "stringValue": "a",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert set(ok) >= {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "awsRegion"}
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_a_raising_handler_does_not_stop_the_runtime(probe, aws):
    stack, journal = probe
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-probe-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="crash")
    wait_for(lambda: [e for e in stack.logs("invocation") if e["outcome"] == "error"], timeout_s=10)
    sqs.send_message(QueueUrl=url, MessageBody="ok-after-crash")
    wait_for(lambda: [r for r in entries(journal, "sqs") if r["body"] == "ok-after-crash"], timeout_s=10)


def test_a_schedule_fires_with_the_scheduled_event_shape(probe):
    stack, journal = probe
    request = urllib.request.Request(stack.endpoints["control"] + "/schedules/hourly", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202
    event = wait_for(lambda: entries(journal, "schedule"))[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/probe-hourly"]
    assert event["time"].endswith("Z")
    with urllib.request.urlopen(stack.endpoints["control"], timeout=5) as response:
        status = json.load(response)
    schedules = status["runtime"]["schedules"]
    assert schedules["hourly"]["expression"] == "rate(1 hour)"
    assert schedules["weekday_report"]["expression"] == "cron(0 3 ? * MON-FRI *)"
