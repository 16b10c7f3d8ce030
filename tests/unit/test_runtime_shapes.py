"""The Lambda event documents built from what botocore returns."""

from __future__ import annotations

import datetime
import json
import uuid

from devstack.runtime import shapes

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/sp-test-orders/stream/2024-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:sp-test-jobs"


def botocore_stream_record(**dynamodb_extra: object) -> dict:
    return {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=datetime.UTC),
            "Keys": {"pk": {"S": "a"}, "sk": {"B": b"\x00\xff"}},
            "SequenceNumber": "100",
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            **dynamodb_extra,
        },
    }


def test_dynamodb_record_has_lambdas_shape() -> None:
    record = shapes.dynamodb_record(botocore_stream_record(), STREAM_ARN, "eu-west-1")

    assert record == {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1709294400.0,
            "Keys": {"pk": {"S": "a"}, "sk": {"B": "AP8="}},
            "SequenceNumber": "100",
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    json.dumps(record)  # a Lambda event is plain JSON


def test_dynamodb_record_epoch_respects_the_datetimes_timezone() -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2024, 3, 1, 14, 0, 0, 250_000, tzinfo=plus_two)

    record = shapes.dynamodb_record(botocore_stream_record(ApproximateCreationDateTime=moment), STREAM_ARN, "r")

    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1709294400.25


def test_dynamodb_record_accepts_an_epoch_number() -> None:
    record = shapes.dynamodb_record(botocore_stream_record(ApproximateCreationDateTime=1709294400), STREAM_ARN, "r")

    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1709294400.0
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)


def test_dynamodb_record_base64_encodes_binary_at_any_depth_in_both_images() -> None:
    new_image = {
        "pk": {"S": "a"},
        "blob": {"B": b"hi"},
        "blobs": {"BS": [b"\x01", bytearray(b"\x02")]},
        "list": {"L": [{"B": b"\x03"}, {"N": "1"}]},
        "map": {"M": {"inner": {"B": b"\x04"}, "flag": {"BOOL": True}, "none": {"NULL": True}}},
    }
    old_image = {"pk": {"S": "a"}, "blob": {"B": b""}}

    record = shapes.dynamodb_record(
        botocore_stream_record(NewImage=new_image, OldImage=old_image), STREAM_ARN, "eu-west-1"
    )

    assert record["dynamodb"]["NewImage"] == {
        "pk": {"S": "a"},
        "blob": {"B": "aGk="},
        "blobs": {"BS": ["AQ==", "Ag=="]},
        "list": {"L": [{"B": "Aw=="}, {"N": "1"}]},
        "map": {"M": {"inner": {"B": "BA=="}, "flag": {"BOOL": True}, "none": {"NULL": True}}},
    }
    assert record["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "blob": {"B": ""}}
    # The source record is not modified in place.
    assert new_image["blob"] == {"B": b"hi"}


def test_dynamodb_record_omits_images_the_stream_did_not_carry() -> None:
    record = shapes.dynamodb_record(botocore_stream_record(OldImage={"pk": {"S": "a"}}), STREAM_ARN, "eu-west-1")

    assert "NewImage" not in record["dynamodb"]
    assert record["dynamodb"]["OldImage"] == {"pk": {"S": "a"}}


def test_sqs_record_has_lambdas_shape() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "Body": "hello",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1709294400000"},
    }

    record = shapes.sqs_record(message, QUEUE_ARN, "eu-west-1")

    assert record == {
        "messageId": "m-1",
        "receiptHandle": "rh-1",
        "body": "hello",
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1709294400000"},
        "messageAttributes": {},
        "md5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }
    # A copy: mutating the event must not touch the botocore response.
    record["attributes"]["x"] = "y"
    assert "x" not in message["Attributes"]


def test_sqs_record_message_attributes_use_lambdas_camel_case_shape() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "MD5OfBody": "x",
        "Body": "{}",
        "MD5OfMessageAttributes": "abc",
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "job"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "payload": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    }

    record = shapes.sqs_record(message, QUEUE_ARN, "eu-west-1")

    assert record["messageAttributes"] == {
        "kind": {"stringValue": "job", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "count": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "payload": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert record["md5OfMessageAttributes"] == "abc"
    assert record["attributes"] == {}
    json.dumps(record)


def test_scheduled_event_has_eventbridges_shape_in_utc() -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    rule = "arn:aws:events:eu-west-1:123456789012:rule/app-nightly"

    event = shapes.scheduled_event(rule, "eu-west-1", datetime.datetime(2024, 3, 1, 2, 30, 15, 999_999, plus_two))

    assert uuid.UUID(event.pop("id"))
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": shapes.ACCOUNT_ID,
        "time": "2024-03-01T00:30:15Z",
        "region": "eu-west-1",
        "resources": [rule],
        "detail": {},
    }


def test_scheduled_events_get_distinct_ids() -> None:
    moment = datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC)

    first = shapes.scheduled_event("arn:r", "r", moment)
    second = shapes.scheduled_event("arn:r", "r", moment)

    assert first["id"] != second["id"]


def test_stream_failure_record_points_at_the_batch_like_lambdas_on_failure_destination() -> None:
    records = [
        shapes.dynamodb_record(
            botocore_stream_record(
                SequenceNumber=str(seq),
                ApproximateCreationDateTime=datetime.datetime(2024, 3, 1, 12, 0, seq, 5_000, tzinfo=datetime.UTC),
            ),
            STREAM_ARN,
            "eu-west-1",
        )
        for seq in (7, 8, 9)
    ]
    function = shapes.function_arn("app", "on_change", "eu-west-1")

    failure = shapes.stream_failure_record(records, "shard-0001", STREAM_ARN, function, attempts=3)

    assert function == "arn:aws:lambda:eu-west-1:123456789012:function:app-local-on_change"
    request = failure["requestContext"]
    assert uuid.UUID(request.pop("requestId"))
    assert request == {"functionArn": function, "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3}
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert failure["version"] == "1.0"
    assert failure["timestamp"].endswith("Z")
    assert datetime.datetime.fromisoformat(failure["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": "shard-0001",
        "startSequenceNumber": "7",
        "endSequenceNumber": "9",
        "approximateArrivalOfFirstRecord": "2024-03-01T12:00:07.005Z",
        "approximateArrivalOfLastRecord": "2024-03-01T12:00:09.005Z",
        "batchSize": 3,
        "streamArn": STREAM_ARN,
    }
    # The destination gets a pointer to the batch, never the records themselves.
    assert "NewImage" not in json.dumps(failure)
    assert "Keys" not in json.dumps(failure)
