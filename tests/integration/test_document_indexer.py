"""The documents stream handler against a real OpenSearch (osmem): replayed and out-of-order
batches end at the newest version, removed children disappear, a bad record fails alone."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator

import pytest
from chalice import Chalice

from chalicelib import clients, composition
from chalicelib.config import get_settings
from chalicelib.documents.indexer import index_id
from chalicelib.documents.tree import object_ids
from devstack.services import OpenSearchService, free_port
from tests.support.moto import in_process_aws, queues_and_buses
from tests.support.plans import plan, plan_service


@pytest.fixture(scope="module")
def opensearch() -> Iterator[str]:
    service = OpenSearchService()
    service.start()
    yield service.url
    service.stop()


@pytest.fixture
def handler(opensearch, monkeypatch):
    """The real handler, with OpenSearch at osmem, AWS in moto's in-process mock, no Redis."""
    redis_url = f"redis://127.0.0.1:{free_port()}/0"
    with in_process_aws(monkeypatch, "idx", OPENSEARCH_URL=opensearch, REDIS_URL=redis_url) as settings:
        from devstack import bootstrap

        queues_and_buses(settings)
        bootstrap.bootstrap_search(settings)
        from chalicelib.documents import handlers

        composition.wire(settings)
        app = Chalice("indexer-test")
        app.register_blueprint(handlers.handlers)
        yield lambda records: app.handler_map["on_document_change"]({"Records": records}, None)
    composition.wire()


_sequence = iter(range(1000, 100000))


def image(document: dict, version: int, owner: str = "owner-1") -> dict:
    return {
        "pk": {"S": f"{owner}#plan"},
        "doc_id": {"S": document["objectId"]},
        "doc_type": {"S": "plan"},
        "body": {"S": json.dumps(document)},
        "etag": {"S": '"x"'},
        "version": {"N": str(version)},
        "owner_id": {"S": owner},
        "updated_at": {"N": str(1_700_000_000 + version)},
    }


def record(event_name: str, plan_id: str, new: dict | None = None, old: dict | None = None) -> dict:
    owner = (new or old or {}).get("owner_id", {}).get("S", "owner-1")
    body = {
        "ApproximateCreationDateTime": 1.0,
        "Keys": {"pk": {"S": f"{owner}#plan"}, "doc_id": {"S": plan_id}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 10,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    return {
        "eventID": body["SequenceNumber"],
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
    }


def index_state(*documents: dict, owner: str = "owner-1") -> dict[str, dict]:
    """What the index holds, by objectId, of every object any of these plan versions (of one
    plan of `owner`) ever had."""
    wanted = sorted(set().union(*(object_ids(d) for d in documents)))
    plan_id = documents[0]["objectId"]
    client = clients.opensearch()
    alias = get_settings().resource_name("documents-plan")
    client.indices.refresh(index=alias)
    ids = [index_id(owner, plan_id, object_id) for object_id in wanted]
    hits = client.search(index=alias, body={"size": 100, "query": {"ids": {"values": ids}}})["hits"]["hits"]
    return {hit["_source"]["objectId"]: hit["_source"] for hit in hits}


def versions() -> tuple[dict, dict, dict]:
    v1 = plan(services=(("Dental", 5), ("Vision", 7)))
    v2 = copy.deepcopy(v1)
    v2["linkedPlanServices"] = v2["linkedPlanServices"][:1]
    v2["planCostShares"]["copay"] = 50
    v3 = copy.deepcopy(v2)
    v3["linkedPlanServices"].append(plan_service("example.com", "Hearing", 9))
    return v1, v2, v3


def batch(v1: dict, v2: dict, v3: dict) -> list[dict]:
    plan_id = v1["objectId"]
    return [
        record("INSERT", plan_id, new=image(v1, 1)),
        record("MODIFY", plan_id, new=image(v2, 2), old=image(v1, 1)),
        record("MODIFY", plan_id, new=image(v3, 3), old=image(v2, 2)),
    ]


def test_in_order_delivery_indexes_the_newest_tree(handler):
    v1, v2, v3 = versions()
    assert handler(batch(v1, v2, v3)) == {"batchItemFailures": []}
    state = index_state(v1, v2, v3)
    vision = v1["linkedPlanServices"][1]
    assert vision["objectId"] not in state and vision["linkedService"]["objectId"] not in state
    assert state[v1["planCostShares"]["objectId"]]["copay"] == 50
    assert v3["linkedPlanServices"][1]["objectId"] in state
    assert len(state) == 1 + 1 + 3 * 2  # plan, its cost share, two planservices with two children each


def test_a_replayed_batch_and_an_out_of_order_batch_end_in_the_same_index(handler):
    v1, v2, v3 = versions()
    records = batch(v1, v2, v3)
    handler(records)
    expected = index_state(v1, v2, v3)
    assert len(expected) == 8
    assert handler(records) == {"batchItemFailures": []}
    assert index_state(v1, v2, v3) == expected
    assert handler(list(reversed(records))) == {"batchItemFailures": []}
    assert index_state(v1, v2, v3) == expected


def test_an_older_record_after_a_newer_one_does_not_regress(handler):
    v1, v2, v3 = versions()
    plan_id = v1["objectId"]
    handler([record("MODIFY", plan_id, new=image(v3, 3), old=image(v2, 2))])
    handler([record("INSERT", plan_id, new=image(v1, 1))])
    state = index_state(v1, v3)
    assert state[v1["planCostShares"]["objectId"]]["copay"] == 50
    assert v1["linkedPlanServices"][1]["objectId"] not in state


def test_removal_deletes_the_whole_tree_and_a_late_insert_does_not_resurrect_it(handler):
    v1, _, _ = versions()
    plan_id = v1["objectId"]
    insert = record("INSERT", plan_id, new=image(v1, 1))
    handler([insert])
    assert len(index_state(v1)) == 8
    handler([record("REMOVE", plan_id, old=image(v1, 1))])
    assert index_state(v1) == {}
    handler([insert])
    assert index_state(v1) == {}


def test_an_unindexable_record_is_dead_lettered_at_once_and_its_siblings_are_indexed(handler):
    good, _, _ = versions()
    broken = plan()
    del broken["linkedPlanServices"][0]["objectId"]
    bad_record = record("INSERT", broken["objectId"], new=image(broken, 1))
    good_record = record("INSERT", good["objectId"], new=image(good, 1))
    # Retrying a record that can never be indexed would only hold back the shard behind it.
    assert handler([bad_record, good_record]) == {"batchItemFailures": []}
    assert good["objectId"] in index_state(good)
    sqs = clients.aws("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().resource_name("documents-stream-failures"))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    dead = json.loads(message["Body"])
    assert dead["reason"] == "the document cannot become index documents"
    assert dead["record"]["dynamodb"]["SequenceNumber"] == bad_record["dynamodb"]["SequenceNumber"]


def test_an_opensearch_outage_fails_the_batch_for_a_retry(handler, opensearch):
    v1, _, _ = versions()
    first = record("INSERT", v1["objectId"], new=image(v1, 1))
    clients.reset()
    os.environ["OPENSEARCH_URL"] = f"http://127.0.0.1:{free_port()}"
    get_settings.cache_clear()
    try:
        assert handler([first]) == {"batchItemFailures": [{"itemIdentifier": first["dynamodb"]["SequenceNumber"]}]}
    finally:
        os.environ["OPENSEARCH_URL"] = opensearch
        get_settings.cache_clear()
        clients.reset()
    assert handler([first]) == {"batchItemFailures": []}
    assert len(index_state(v1)) == 8


def test_owner_is_indexed_on_every_object(handler):
    v1, _, _ = versions()
    handler([record("INSERT", v1["objectId"], new=image(v1, 1, owner="owner-7"))])
    assert {source["_owner"] for source in index_state(v1, owner="owner-7").values()} == {"owner-7"}
