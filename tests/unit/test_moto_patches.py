"""The local cloud's corrections to moto keep moto's answers: checked in-process with mock_aws."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
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


def _attribute_values() -> st.SearchStrategy[dict[str, Any]]:
    scalars = st.one_of(
        st.builds(lambda v: {"S": v}, st.text(max_size=5)),
        st.builds(lambda v: {"N": str(v)}, st.integers(-100, 100)),
        st.builds(lambda v: {"B": v}, st.binary(max_size=5)),
        st.builds(lambda v: {"SS": v}, st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=3, unique=True)),
        st.builds(
            lambda v: {"NS": [str(n) for n in v]}, st.lists(st.integers(0, 9), min_size=1, max_size=3, unique=True)
        ),
        st.builds(
            lambda v: {"BS": v}, st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=3, unique=True)
        ),
        st.just({"NULL": True}),
        st.builds(lambda v: {"BOOL": v}, st.booleans()),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.builds(lambda v: {"L": v}, st.lists(children, max_size=3)),
            st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=3), children, max_size=3)),
        ),
        max_leaves=8,
    )


def _serialized(service: str, operation: str, result: Any) -> Any:
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model
    from moto.dynamodb.responses import DynamoResult

    model = get_service_model(service).operation_model(operation)
    serializer = get_serializer_class(service, "json")(
        operation_model=model, pretty_print=False, value_picker=XFormedAttributePicker(response_transformers=None)
    )
    return json.loads(serializer.serialize(DynamoResult(result).result)["body"])


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(
        st.dictionaries(st.sampled_from(["pk", "sk", "a", "b"]), _attribute_values(), min_size=1), max_size=4
    )
)
def test_attribute_values_are_written_as_moto_writes_them(items: list[dict[str, Any]]) -> None:
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType

    moto_patches.apply()
    typed = [{name: DynamoType(value) for name, value in item.items()} for item in items]
    answers = [
        (
            "dynamodb",
            "Query",
            {
                "Count": len(typed),
                "ScannedCount": len(typed),
                "Items": typed,
                "LastEvaluatedKey": typed[0] if typed else None,
            },
        ),
        ("dynamodb", "GetItem", {"Item": typed[0]} if typed else {}),
        ("dynamodb", "BatchGetItem", {"Responses": {"t": typed}, "UnprocessedKeys": {}}),
        (
            "dynamodbstreams",
            "GetRecords",
            {
                "NextShardIterator": "x",
                "Records": [
                    {"eventName": "MODIFY", "dynamodb": {"NewImage": i, "OldImage": i, "Keys": i}} for i in typed
                ],
            },
        ),
    ]
    direct = [_serialized(*answer) for answer in answers]
    patched = BaseJSONSerializer._serialize_type_structure
    try:
        BaseJSONSerializer._serialize_type_structure = patched.__wrapped__
        walked = [_serialized(*answer) for answer in answers]
    finally:
        BaseJSONSerializer._serialize_type_structure = patched
    assert direct == walked


def test_the_server_apps_run_without_flask_debug() -> None:
    from moto.moto_server import threaded_moto_server

    moto_patches.apply()
    assert threaded_moto_server.create_backend_app("dynamodb").debug is False


def test_handler_methods_are_listed_once_per_class() -> None:
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    moto_patches.apply()
    assert responses.method_names_from_class(DynamoHandler) is responses.method_names_from_class(DynamoHandler)
    assert "query" in responses.method_names_from_class(DynamoHandler)


@mock_aws
def test_reading_an_item_that_does_not_exist_leaves_no_partition_behind() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    moto_patches.apply()
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="sparse",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    dynamodb.put_item(TableName="sparse", Item={"pk": {"S": "here"}, "sk": {"S": "a"}})
    for n in range(50):
        assert "Item" not in dynamodb.get_item(TableName="sparse", Key={"pk": {"S": f"gone{n}"}, "sk": {"S": "a"}})
    dynamodb.batch_get_item(RequestItems={"sparse": {"Keys": [{"pk": {"S": "gone"}, "sk": {"S": "b"}}]}})
    assert "Item" not in dynamodb.get_item(TableName="sparse", Key={"pk": {"S": "here"}, "sk": {"S": "b"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["sparse"]
    assert [k.value for k in table.items] == ["here"]
