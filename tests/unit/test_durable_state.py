"""The embedded cloud's durable state, against moto in-process: what the hooks journal (and what a
compaction snapshots) rebuilds the same state in a moto that starts empty."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import moto_patches, moto_serial
from devstack import state as durable
from devstack.state.journal import CorruptState, Journal, read
from devstack.state.recorder import recorder
from devstack.state.store import DataFolder, DataFolderInUse, StateStore
from tests.support.stack import wait_for

REGION = "us-east-1"


def reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        moto_patches.apply()
        moto_serial.apply()
        durable.install()
        yield lambda service: boto3.client(service, region_name=REGION)
    recorder.swap(None)


@pytest.fixture
def folder(tmp_path: Path) -> DataFolder:
    return DataFolder(tmp_path / "data")


def restart(folder: DataFolder, store: StateStore, redeliver: frozenset[str] = frozenset()) -> StateStore:
    """As after kill -9: the running store's journal is all there is; moto starts empty."""
    store.abandon()
    reset_moto()
    fresh = StateStore(folder)
    fresh.open(redeliver)
    return fresh


def create_table(dynamodb: Any, name: str = "orders") -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


def table_state(dynamodb: Any, name: str = "orders") -> dict[str, Any]:
    items = sorted(dynamodb.scan(TableName=name)["Items"], key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
    by_status = dynamodb.query(
        TableName=name,
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "paid"}},
    )["Items"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return {"items": items, "paid": len(by_status), "ttl": ttl}


def write_orders(dynamodb: Any) -> None:
    key = {"pk": {"S": "order#1"}, "sk": {"S": "order"}}
    dynamodb.put_item(TableName="orders", Item={**key, "status": {"S": "new"}, "n": {"N": "1"}, "b": {"B": b"\x00"}})
    dynamodb.update_item(
        TableName="orders",
        Key=key,
        UpdateExpression="SET #s = :paid ADD n :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":paid": {"S": "paid"}, ":one": {"N": "1"}},
    )
    # Created by an update, as PynamoDB's counters are.
    dynamodb.update_item(
        TableName="orders",
        Key={"pk": {"S": "counter"}, "sk": {"S": "order"}},
        UpdateExpression="ADD v :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName="orders", Item={**key, "status": {"S": "lost"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"pk": {"S": "order#2"}, "sk": {"S": "order"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "orders",
                        "Key": key,
                        "ConditionExpression": "#s = :new",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":new": {"S": "new"}},
                    }
                },
            ]
        )
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": "orders",
                    "Item": {"pk": {"S": "order#3"}, "sk": {"S": "order"}, "status": {"S": "paid"}},
                }
            },
            {"Delete": {"TableName": "orders", "Key": {"pk": {"S": "counter"}, "sk": {"S": "order"}}}},
        ]
    )
    dynamodb.batch_write_item(
        RequestItems={
            "orders": [{"PutRequest": {"Item": {"pk": {"S": f"line#{n}"}, "sk": {"S": "line"}}}} for n in range(30)]
            + [{"DeleteRequest": {"Key": {"pk": {"S": "order#3"}, "sk": {"S": "order"}}}}]
        }
    )


def queue_state(sqs: Any, names: list[str]) -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    state = {}
    for name in names:
        queue = backend.queues[name]
        state[name] = {
            "messages": [
                (
                    m.id,
                    m.body,
                    json.dumps(m.message_attributes, default=repr, sort_keys=True),
                    m.approximate_receive_count,
                )
                for m in queue._messages
            ],
            "redrive": queue.attributes.get("RedrivePolicy"),
        }
    return state


def test_every_acknowledged_change_survives_a_crash(aws, folder):
    store = StateStore(folder)
    store.open()
    dynamodb, sqs = aws("dynamodb"), aws("sqs")
    create_table(dynamodb)
    write_orders(dynamodb)

    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    jobs = sqs.create_queue(QueueName="jobs", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    binary = {"blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}}
    for n in range(4):
        sqs.send_message(QueueUrl=jobs, MessageBody=f"job {n}", MessageAttributes=binary)
    received = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=2, VisibilityTimeout=0)["Messages"]
    sqs.delete_message(QueueUrl=jobs, ReceiptHandle=received[0]["ReceiptHandle"])
    # Received once already, so the next receive moves it to the DLQ.
    sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, VisibilityTimeout=0)
    gone = sqs.create_queue(QueueName="purged")["QueueUrl"]
    sqs.send_message(QueueUrl=gone, MessageBody="never seen")
    sqs.purge_queue(QueueUrl=gone)
    queues = ["jobs", "jobs-dlq", "purged"]

    secrets = aws("secretsmanager")
    secrets.create_secret(Name="keys", SecretString="first")
    secrets.put_secret_value(SecretId="keys", SecretString="second")
    events = aws("events")
    events.create_event_bus(Name="bus")
    events.put_rule(Name="orders", EventBusName="bus", EventPattern=json.dumps({"detail-type": [{"prefix": "order."}]}))
    events.put_targets(Rule="orders", EventBusName="bus", Targets=[{"Id": "jobs", "Arn": dlq_arn}])
    events.put_events(Entries=[{"EventBusName": "bus", "Source": "t", "DetailType": "order.created", "Detail": "{}"}])
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="noreply@example.com")
    ses.send_email(
        Source="noreply@example.com",
        Destination={"ToAddresses": ["alice@example.com"]},
        Message={"Subject": {"Data": "Reset"}, "Body": {"Text": {"Data": "https://localhost/reset?token=x"}}},
    )

    def everything() -> dict[str, Any]:
        return {
            "table": table_state(dynamodb),
            "queues": queue_state(sqs, queues),
            "secret": secrets.get_secret_value(SecretId="keys")["SecretString"],
            "previous": secrets.get_secret_value(SecretId="keys", VersionStage="AWSPREVIOUS")["SecretString"],
            "secret_arn": secrets.describe_secret(SecretId="keys")["ARN"],
            "rules": events.list_rules(EventBusName="bus")["Rules"],
            "targets": events.list_targets_by_rule(Rule="orders", EventBusName="bus")["Targets"],
            "identities": ses.list_identities()["Identities"],
            "sent": ses.get_send_quota()["SentLast24Hours"],
        }

    before = everything()
    assert before["table"]["paid"] == 1 and len(before["table"]["items"]) == 31
    assert len(before["queues"]["jobs-dlq"]["messages"]) == 2  # one redriven, one routed by the rule
    store = restart(folder, store)
    assert everything() == before

    # And again from a snapshot (a clean stop), with later changes journaled on top, and the
    # half-written snapshot of a compaction that was interrupted.
    store.compact()
    dynamodb.delete_item(TableName="orders", Key={"pk": {"S": "line#0"}, "sk": {"S": "line"}})
    (folder.state / "snapshot-000099.partial").write_text('{"k": "ddb.tables"')
    before = everything()
    store = restart(folder, store)
    assert everything() == before
    assert not list(folder.state.glob("*.partial"))
    store.abandon()


def test_a_restored_table_has_an_empty_stream(aws, folder):
    """So pollers that start after the restore hand no handler a write of the previous run."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    store = StateStore(folder)
    store.open()
    dynamodb = aws("dynamodb")
    create_table(dynamodb)
    write_orders(dynamodb)
    store = restart(folder, store)
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["orders"].stream_shard
    assert shard.items == []
    dynamodb.put_item(TableName="orders", Item={"pk": {"S": "after"}, "sk": {"S": "restart"}})
    assert [record.record["eventName"] for record in shard.items] == ["INSERT"]
    store.abandon()


def test_consumed_messages_of_a_redelivered_queue_come_back(aws, folder):
    store = StateStore(folder)
    store.open()
    sqs = aws("sqs")
    logs, other = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("logs", "other"))
    for url in (logs, other):
        sqs.send_message(QueueUrl=url, MessageBody="batch")
        message = sqs.receive_message(QueueUrl=url)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    store = restart(folder, store, redeliver=frozenset({"logs"}))
    assert store.restored.redelivered == 1
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=logs).get("Messages", [])] == ["batch"]
    assert sqs.receive_message(QueueUrl=other).get("Messages", []) == []
    store.abandon()


def test_schedule_timings_are_kept(aws, folder):
    store = StateStore(folder)
    store.open()
    timings = {"sweep": {"expression": "rate(1 minute)", "next_fire": "2031-01-01T00:01:00+00:00"}}
    store.record_timings(timings)
    store = restart(folder, store)
    assert store.restored.schedules == timings
    store.abandon()


def test_a_running_stack_snapshots_once_its_journals_outgrow_the_threshold(aws, folder, monkeypatch):
    from devstack.state import store as module

    monkeypatch.setattr(module, "COMPACT_CHECK_S", 0.05)
    store = StateStore(folder, compact_bytes=20_000)
    store.open()
    store.compact_when_large()
    dynamodb = aws("dynamodb")
    create_table(dynamodb)
    for n in range(100):
        dynamodb.put_item(TableName="orders", Item={"pk": {"S": f"p{n}"}, "sk": {"S": "x"}, "pad": {"S": "x" * 200}})

    def snapshotted() -> bool:
        return any(path.name.startswith("snapshot-") for path in folder.state.iterdir())

    wait_for(snapshotted, timeout_s=10)
    assert store.journal_bytes < 20_000
    store = restart(folder, store)
    assert len(table_state(dynamodb)["items"]) == 100
    store.abandon()


def test_one_data_folder_serves_one_stack(folder):
    folder.lock()
    try:
        with pytest.raises(DataFolderInUse, match="in use"):
            DataFolder(folder.root).lock()
    finally:
        folder.unlock()
    DataFolder(folder.root).lock()


def test_a_torn_last_line_is_ignored_and_a_damaged_one_refused(tmp_path):
    path = tmp_path / "journal-000001.ndjson"
    journal = Journal(path)
    journal.wait(journal.append({"k": "one"}))
    journal.close()
    with path.open("ab") as out:
        out.write(b'{"k": "tw')
    assert [r["k"] for r in read(path)] == ["one"]
    path.write_bytes(b'{"k": "one"}\n{"k": tw\n{"k": "three"}\n')
    with pytest.raises(CorruptState, match="line 2"):
        list(read(path))


def test_concurrent_writers_share_syncs_and_each_waits_for_its_own(tmp_path, monkeypatch):
    import os

    syncs = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.append(fd), real(fd)))
    journal = Journal(tmp_path / "journal-000001.ndjson")
    done = []

    def writer(n: int) -> None:
        for i in range(50):
            ticket = journal.append({"k": "w", "n": n, "i": i})
            journal.wait(ticket)
            assert journal._synced >= ticket
        done.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert sorted(done) == list(range(8))
    assert len(list(read(journal.path))) == 400
    assert 0 < len(syncs) <= 400
