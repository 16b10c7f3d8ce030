"""The embedded streams keep what a reader may still ask for (devstack/moto_streams.py): in-process, mock_aws."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack import moto_streams

REGION = "us-east-1"
_tables = itertools.count()


@pytest.fixture
def aws() -> Any:
    moto_streams.apply()
    with mock_aws():
        # This botocore's default streams endpoint is one moto's in-process routing does not know.
        streams = boto3.client(
            "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )
        yield boto3.client("dynamodb", region_name=REGION), streams


def _stream(dynamodb: Any, streams: Any) -> tuple[str, str, str]:
    name = f"streamed-{next(_tables)}"
    arn = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return name, arn, shard


def _write(dynamodb: Any, table: str, *keys: str) -> None:
    for key in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}})


def _shard(table: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[table].stream_shard


def _iterators() -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    return dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION].shard_iterators


def _keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def test_a_reader_keeps_two_iterators_and_what_it_read_is_dropped(aws: Any) -> None:
    dynamodb, streams = aws
    table, arn, shard = _stream(dynamodb, streams)
    _write(dynamodb, table, "a", "b", "c")
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    delivered = []
    for round_ in range(50):
        answer = streams.get_records(ShardIterator=iterator, Limit=2)
        delivered += answer["Records"]
        iterator = answer["NextShardIterator"]
        if round_ == 10:
            _write(dynamodb, table, "d")
    assert _keys(delivered) == ["a", "b", "c", "d"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in delivered]
    assert sequences == list(range(sequences[0], sequences[0] + 4)), "no gaps, no repeats"
    assert len(_iterators()) == 2
    assert _shard(table).items == [], "every record was read by every reader"
    # Numbering goes on where it was: a new write is the next record.
    _write(dynamodb, table, "e")
    (record,) = streams.get_records(ShardIterator=iterator)["Records"]
    assert int(record["dynamodb"]["SequenceNumber"]) == sequences[-1] + 1


def test_records_stay_until_the_slowest_reader_is_past_them(aws: Any) -> None:
    dynamodb, streams = aws
    table, arn, shard = _stream(dynamodb, streams)
    _write(dynamodb, table, "a", "b", "c", "d")
    fast = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    slow = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(5):
        fast = streams.get_records(ShardIterator=fast)["NextShardIterator"]
    answer = streams.get_records(ShardIterator=slow, Limit=1)
    assert _keys(answer["Records"]) == ["a"]
    # The slow reader's last request began at "a": it may still be working on it.
    assert len(_shard(table).items) == 4
    rest = streams.get_records(ShardIterator=answer["NextShardIterator"])
    assert _keys(rest["Records"]) == ["b", "c", "d"]
    assert len(_shard(table).items) == 3
    streams.get_records(ShardIterator=rest["NextShardIterator"])
    assert _shard(table).items == []


def test_a_retried_request_answers_again_and_an_older_iterator_has_expired(aws: Any) -> None:
    dynamodb, streams = aws
    table, arn, shard = _stream(dynamodb, streams)
    _write(dynamodb, table, "a", "b")
    first = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    second = streams.get_records(ShardIterator=first, Limit=1)["NextShardIterator"]
    again = streams.get_records(ShardIterator=first, Limit=1)
    assert _keys(again["Records"]) == ["a"]
    third = streams.get_records(ShardIterator=again["NextShardIterator"], Limit=1)["NextShardIterator"]
    assert third
    for spent in (first, second):
        with pytest.raises(ClientError) as refused:
            streams.get_records(ShardIterator=spent)
        assert refused.value.response["Error"]["Code"] == "ExpiredIteratorException"


def test_an_idle_reader_expires_after_fifteen_minutes_and_keeps_nothing_back(aws: Any, monkeypatch: Any) -> None:
    dynamodb, streams = aws
    table, arn, shard = _stream(dynamodb, streams)
    _write(dynamodb, table, "a", "b")
    now = [1000.0]
    monkeypatch.setattr(moto_streams, "clock", lambda: now[0])
    idle = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    reader = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    now[0] += moto_streams.ITERATOR_TTL_S - 1
    reader = streams.get_records(ShardIterator=reader)["NextShardIterator"]
    assert len(_shard(table).items) == 2, "the idle reader still holds them"
    now[0] += 2
    streams.get_records(ShardIterator=reader)
    assert _shard(table).items == []
    with pytest.raises(ClientError) as refused:
        streams.get_records(ShardIterator=idle)
    assert refused.value.response["Error"]["Code"] == "ExpiredIteratorException"


def test_a_position_no_longer_kept_is_refused_as_trimmed(aws: Any) -> None:
    dynamodb, streams = aws
    table, arn, shard = _stream(dynamodb, streams)
    _write(dynamodb, table, "a", "b")
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    answer = streams.get_records(ShardIterator=iterator)
    first = answer["Records"][0]["dynamodb"]["SequenceNumber"]
    streams.get_records(ShardIterator=answer["NextShardIterator"])
    with pytest.raises(ClientError) as refused:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first
        )
    assert refused.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    # A new reader from the horizon starts at what is kept: nothing yet, then the next write.
    horizon = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    _write(dynamodb, table, "c")
    assert _keys(streams.get_records(ShardIterator=horizon)["Records"]) == ["c"]
