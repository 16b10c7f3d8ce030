"""The record-batch processor (chalicelib/batch.py): the three failure policies, the response
devstack's runtime reads, and stream images decoded by boto3's TypeDeserializer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.app import DynamoDBRecord, SQSRecord

from chalicelib import batch
from chalicelib.batch import Policy
from devstack.runtime.invoker import Invoker

ROOT = Path(__file__).resolve().parents[2]


def message(message_id: str, body: str = "{}") -> SQSRecord:
    return SQSRecord({"messageId": message_id, "receiptHandle": "r", "body": body, "attributes": {}}, None)


def stream_record(sequence: str, new: dict[str, Any] | None = None) -> DynamoDBRecord:
    dynamodb = {
        "ApproximateCreationDateTime": 1767225600,
        "Keys": {"pk": {"S": sequence}},
        "SequenceNumber": sequence,
        "SizeBytes": 10,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        **({"NewImage": new} if new is not None else {}),
    }
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1"
    raw = {"eventID": f"e{sequence}", "eventName": "INSERT", "awsRegion": "us-east-1", "eventSourceARN": arn}
    return DynamoDBRecord({**raw, "dynamodb": dynamodb}, None)


def failing_on(*identifiers: str, seen: list[str]) -> Any:
    def handle(record: Any) -> None:
        identifier = record.to_dict().get("messageId") or record.sequence_number
        seen.append(identifier)
        if identifier in identifiers:
            raise RuntimeError(f"{identifier} fails")

    return handle


def failures(*identifiers: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in identifiers]}


def test_a_queue_batch_reports_each_failed_message_and_handles_every_one() -> None:
    seen: list[str] = []
    records = [message(f"m{n}") for n in range(4)]
    assert batch.each(records, failing_on("m1", "m2", seen=seen), Policy.MESSAGES, "x") == failures("m1", "m2")
    assert seen == ["m0", "m1", "m2", "m3"]


def test_an_unordered_stream_handles_every_record_and_reports_each_failure() -> None:
    seen: list[str] = []
    records = [stream_record(str(n)) for n in (10, 11, 12, 13)]
    assert batch.each(records, failing_on("11", "13", seen=seen), Policy.EACH_RECORD, "x") == failures("11", "13")
    assert seen == ["10", "11", "12", "13"]


def test_an_ordered_stream_stops_at_the_first_failure_and_reports_it_alone() -> None:
    seen: list[str] = []
    records = [stream_record(str(n)) for n in (10, 11, 12, 13)]
    assert batch.each(records, failing_on("11", seen=seen), Policy.FROM_FIRST_FAILURE, "x") == failures("11")
    # Delivered again from 11: the records after it must not get ahead of it.
    assert seen == ["10", "11"]


def test_a_batch_handled_as_a_whole_reports_what_it_found_failed() -> None:
    records = [stream_record(str(n)) for n in (10, 11, 12)]
    assert batch.report(records, {"12", "11"}, Policy.FROM_FIRST_FAILURE) == failures("11")
    assert batch.report(records, {"12", "11"}, Policy.EACH_RECORD) == failures("11", "12")
    assert batch.report([message("a"), message("b")], ["b"], Policy.MESSAGES) == failures("b")
    assert batch.report(records, (), Policy.FROM_FIRST_FAILURE) == failures()


def test_a_batch_that_fails_whole_is_reported_not_raised() -> None:
    # Powertools raises when every record failed unless told not to; Lambda would then retry the
    # batch anyway, but the handler's answer (and the runtime's log of it) would be lost.
    records = [message("a"), message("b")]
    assert batch.report(records, {"a", "b"}, Policy.MESSAGES) == failures("a", "b")
    assert batch.report([], (), Policy.MESSAGES) == failures()


def test_devstack_runtime_reads_the_response_as_lambda_does() -> None:
    app = Chalice("batch-test")

    @app.on_sqs_message(queue="q")
    def consume(event: Any) -> dict[str, Any]:
        return batch.report(event, {"m1"}, Policy.MESSAGES)

    raw = [message(f"m{n}").to_dict() for n in range(3)]
    invocation = Invoker(app, "us-east-1").invoke("consume", {"Records": raw}, source="test")
    assert invocation.ok and invocation.failed_items == {"m1"}


def test_images_are_plain_python() -> None:
    image = {
        "name": {"S": "n"},
        "count": {"N": "3"},
        "price": {"N": "12.50"},
        "deleted": {"BOOL": False},
        "gone": {"NULL": True},
        "roles": {"L": [{"S": "user"}, {"N": "2"}]},
        "nested": {"M": {"at": {"N": "1893499205000"}}},
        "tags": {"SS": ["a", "b"]},
    }
    assert batch.image(image) == {
        "name": "n",
        "count": 3,
        "price": 12.5,
        "deleted": False,
        "gone": None,
        "roles": ["user", 2],
        "nested": {"at": 1893499205000},
        "tags": {"a", "b"},
    }
    assert type(batch.image(image)["count"]) is int
    assert batch.image(None) == {} and batch.image({}) == {}


@pytest.mark.parametrize("module", ["aws_lambda_powertools", "boto3"])
def test_importing_the_app_loads_neither_powertools_nor_boto3_for_batches(module: str) -> None:
    probe = f"import sys, app; print({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
