"""`python -m devstack.invoke` runs the tests/events fixtures through the real handlers, in-process,
against a running local cloud; fixtures no handler takes yet are checked against the shapes
the event runtime builds from real AWS API answers (devstack/runtime/shapes.py)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from chalicelib.events import stream_event_id
from devstack.runtime import shapes
from tests.support.stack import start_stack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
USER_ID = "7f3c2a4e9b1d4c8e8a6f5b2d1c0e9f8a"
USER_RECORD_EVENT_ID = "3b2e0c7a5d9f6e4c1a8b3d2f0e9c7a5b"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def stack():
    stack = start_stack()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def status(stack) -> dict[str, Any]:
    return requests.get(stack.endpoints["control"], timeout=5).json()


@pytest.fixture(scope="module")
def aws(stack):
    return stack.aws


def invoke(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORT": str(urlparse(stack.endpoints["api"]).port), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "devstack.invoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def invoke_ok(stack, fn: str, event: str) -> Any:
    result = invoke(stack, "--fn", fn, "--event", str(EVENTS / event))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def handlers(stack) -> dict[str, str]:
    result = invoke(stack, "--list")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys, list element shapes and leaf kinds, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def test_api_gateway_event_answers_the_health_report(stack) -> None:
    response = invoke_ok(stack, "api", "apigateway-health.json")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    body = json.loads(response["body"])
    assert body["status"] in ("healthy", "degraded")
    assert {"dynamodb", "sqs", "opensearch", "redis"} <= set(body["checks"])


def test_identity_stream_batches_publish_user_registered_once(stack, status, aws, handlers) -> None:
    assert handlers.get("on_identity_change") == "dynamodb"
    for event in ("insert", "modify", "remove"):
        assert invoke_ok(stack, "on_identity_change", f"dynamodb-identity-{event}.json") == {"batchItemFailures": []}

    sqs = aws("sqs")
    queue_url = status["resources"]["queues"]["events"]["url"]
    published = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        bodies = [json.loads(m["Body"]) for m in messages]
        published += [b for b in bodies if b["type"] == "user.registered" and b["data"]["user_id"] == USER_ID]
        if not messages and published:
            break
    # The insert batch holds the user and its two uniqueness claims: one event, for the user.
    # MODIFY and REMOVE publish nothing.
    assert len(published) == 1, published
    event = published[0]
    assert event["id"] == stream_event_id(USER_RECORD_EVENT_ID, "user.registered")
    assert event["data"] == {"user_id": USER_ID, "username": "alice", "email": "alice@example.com"}


def test_identity_fixtures_have_the_shape_of_real_stream_records(aws) -> None:
    dynamodb, streams = aws("dynamodb"), aws("dynamodbstreams")
    table = dynamodb.create_table(
        TableName="invoke-shape-probe",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    dynamodb.put_item(TableName="invoke-shape-probe", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName="invoke-shape-probe", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    dynamodb.delete_item(TableName="invoke-shape-probe", Key={"pk": {"S": "a"}})
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    real = {r["eventName"]: shapes.dynamodb_record(r, arn, REGION) for r in records}
    assert set(real) == {"INSERT", "MODIFY", "REMOVE"}

    for name in ("insert", "modify", "remove"):
        for record in fixture(f"dynamodb-identity-{name}.json")["Records"]:
            expected = real[record["eventName"]]
            assert record.keys() == expected.keys()
            assert record["dynamodb"].keys() == expected["dynamodb"].keys(), record["eventName"]
            assert shape({k: v for k, v in record.items() if k != "dynamodb"}) == shape(
                {k: v for k, v in expected.items() if k != "dynamodb"}
            )
            assert record["eventSourceARN"].split("/stream/")[0].endswith(":table/sp-local-identity")


def test_sqs_fixture_runs_through_its_handler_or_matches_the_runtime_shape(stack, aws, handlers) -> None:
    event = fixture("sqs-batch.json")
    consumers = [name for name, kind in handlers.items() if kind == "sqs"]
    for name in consumers:
        result = invoke_ok(stack, name, "sqs-batch.json")
        assert not (result or {}).get("batchItemFailures"), result
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="invoke-shape-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="{}",
        MessageAttributes={"type": {"DataType": "String", "StringValue": "user.registered"}},
    )
    (message,) = sqs.receive_message(
        QueueUrl=queue_url,
        AttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=1,
    )["Messages"]
    real = shapes.sqs_record(message, queue_arn, REGION)
    for record in event["Records"]:
        assert shape(record) == shape(real)


def test_scheduled_fixture_runs_through_its_handler_or_matches_the_runtime_shape(stack, handlers) -> None:
    for name in [name for name, kind in handlers.items() if kind == "schedule"]:
        invoke_ok(stack, name, "scheduled-event.json")
    real = shapes.scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", REGION, datetime.datetime.now())
    assert shape(fixture("scheduled-event.json")) == shape(real)


def test_unknown_handler_and_failing_handler(stack) -> None:
    unknown = invoke(stack, "--fn", "no_such_handler", "--event", str(EVENTS / "scheduled-event.json"))
    assert unknown.returncode == 2
    assert "on_identity_change" in unknown.stderr

    broken = subprocess.run(
        [sys.executable, "-m", "devstack.invoke", "--fn", "on_identity_change", "--event", "-"],
        input=json.dumps({"Records": [{"eventName": "INSERT"}]}),
        cwd=ROOT,
        env={**os.environ, "PORT": str(urlparse(stack.endpoints["api"]).port), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert broken.returncode == 1
    error = json.loads(broken.stdout)
    assert error["errorType"] == "KeyError" and error["stackTrace"]


def test_no_stack_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devstack.invoke", "--fn", "api", "--event", str(EVENTS / "apigateway-health.json")],
        cwd=ROOT,
        env={**os.environ, "PORT": "9", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "make run" in result.stderr
