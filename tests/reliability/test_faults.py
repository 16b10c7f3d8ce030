"""Fault drills on the running local cloud: an unresponsive OpenSearch, a lost Redis, a poison
record, the event runtime killed mid-stream. Writes must succeed and the index must converge."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests
from opensearchpy import OpenSearch

from tests.e2e.conftest import Api
from tests.support.plans import plan
from tests.support.stack import wait_for

PREFIX = "sp-local"


def control(stack, path: str) -> dict:
    response = requests.post(stack.endpoints["control"] + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def indexed_plans(stack, org: str) -> int:
    client = OpenSearch(hosts=[stack.endpoints["opensearch"]], timeout=30)
    alias = f"{PREFIX}-documents-plan"
    client.indices.refresh(index=alias)
    query = {"bool": {"filter": [{"term": {"objectType": "plan"}}, {"term": {"_org": org}}]}}
    return client.count(index=alias, body={"query": query})["count"]


def write_plans(stack, headers: dict[str, str], org: str, count: int, workers: int = 8) -> list[int]:
    def write(_: int) -> int:
        with Api(stack.endpoints["api"]) as session:
            return session.post("/api/v1/plans", json=plan(org=org), headers=headers).status_code

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(write, range(count)))


def test_writes_succeed_while_opensearch_is_unresponsive_and_the_index_catches_up(stack, users, tally):
    org = f"outage-{uuid.uuid4().hex[:6]}.example"
    documents = 1000
    control(stack, "/services/opensearch/pause")
    tally["faults injected"] += 1
    try:
        statuses = write_plans(stack, users["alice"], org, documents)
    finally:
        control(stack, "/services/opensearch/resume")
    tally["operations tried"] += documents
    assert statuses == [201] * documents
    assert wait_for(lambda: indexed_plans(stack, org) == documents, timeout_s=120, interval_s=1.0)


def test_without_redis_every_route_still_answers(stack, api, users, tally):
    document = plan()
    created = api.post("/api/v1/plans", json=document, headers=users["alice"])
    control(stack, "/services/redis/stop")
    tally["faults injected"] += 1
    try:
        url = f"/api/v1/plans/{document['objectId']}"
        checks = [
            api.get("/health"),
            api.get(url, headers=users["alice"]),
            api.patch(url, json={"planType": "x"}, headers={**users["alice"], "If-Match": created.headers["ETag"]}),
            api.get("/api/v1/plans", headers=users["alice"]),
            api.get("/api/v1/users/profile/", headers=users["alice"]),
            api.post("/api/auth/login/", json={"username": "nobody", "password": "wrong password 1"}),
        ]
        tally["operations tried"] += len(checks)
        assert [r.status_code for r in checks] == [200, 200, 200, 200, 200, 401]
        assert checks[0].json()["status"] == "degraded"
    finally:
        control(stack, "/services/redis/start")


def test_a_poison_record_is_dead_lettered_and_its_siblings_are_indexed(stack, users, tally):
    aws = {
        "endpoint_url": stack.endpoints["aws"],
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    dynamodb, sqs = boto3.client("dynamodb", **aws), boto3.client("sqs", **aws)
    org = f"poison-{uuid.uuid4().hex[:6]}.example"
    broken = plan(org=org)
    del broken["linkedPlanServices"][0]["objectId"]
    # Written behind the API's back, the way a bad migration would: the schema never saw it.
    dynamodb.put_item(
        TableName=f"{PREFIX}-documents-v2",
        Item={
            "pk": {"S": "nobody#plan"},
            "doc_id": {"S": broken["objectId"]},
            "doc_type": {"S": "plan"},
            "body": {"S": json.dumps(broken)},
            "etag": {"S": '"poison"'},
            "version": {"N": "1"},
            "owner_id": {"S": "nobody"},
            "created_at": {"N": "0"},
            "updated_at": {"N": "0"},
        },
    )
    tally["faults injected"] += 1
    assert write_plans(stack, users["alice"], org, 3, workers=1) == [201] * 3
    assert wait_for(lambda: indexed_plans(stack, org) == 3, timeout_s=30)
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-documents-stream-failures")["QueueUrl"]

    def dead_lettered():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            if body["record"]["dynamodb"]["Keys"]["doc_id"]["S"] == broken["objectId"]:
                return body
        return None

    assert wait_for(dead_lettered, timeout_s=15)["reason"] == "the document cannot become index documents"


def test_the_event_runtime_killed_mid_stream_loses_nothing_and_applies_nothing_twice(stack, users, tally):
    org = f"restart-{uuid.uuid4().hex[:6]}.example"
    documents = 200
    results: list[int] = []
    writer = threading.Thread(target=lambda: results.extend(write_plans(stack, users["alice"], org, documents, 4)))
    writer.start()
    wait_for(lambda: indexed_plans(stack, org) > 0, timeout_s=30)
    control(stack, "/runtime/restart")
    tally["faults injected"] += 1
    writer.join()
    tally["operations tried"] += documents
    assert results == [201] * documents
    assert wait_for(lambda: indexed_plans(stack, org) == documents, timeout_s=60)
    # Redelivered records re-apply the same versions: still exactly one index document per plan.
    assert indexed_plans(stack, org) == documents
