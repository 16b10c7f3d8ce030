"""Domain events go to EventBridge only; the local cloud's tap rule (devstack/bootstrap.py)
copies each into the `events` queue as its bare envelope, for `make events`, while the
consumers' rules feed their own queues. Against moto's in-process mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clients, events, resources
from tests.support.moto import in_process_aws, queues_and_buses


@pytest.fixture
def bus(monkeypatch) -> Iterator[dict[str, dict[str, Any]]]:
    """The declared queues and buses, bootstrapped as the local cloud does; their descriptions."""
    with in_process_aws(monkeypatch, "tap") as settings:
        yield queues_and_buses(settings)


def bodies(queue_url: str) -> list[dict[str, Any]]:
    messages = clients.aws("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_publish_is_one_call_to_the_bus_and_the_tap_gets_the_envelope(bus, monkeypatch) -> None:
    services: list[str] = []
    aws = clients.aws
    monkeypatch.setattr(clients, "aws", lambda service, *a, **kw: services.append(service) or aws(service, *a, **kw))
    sent = [
        events.envelope("order.created", {"order_id": "o1"}),
        events.envelope("document.created", {"type": "plan", "id": "p1", "owner": "u1"}),
    ]

    assert events.publish_many(sent) == set()

    assert services == ["events"]
    monkeypatch.setattr(clients, "aws", aws)
    assert sorted(bodies(bus["events"]["url"]), key=lambda e: e["type"]) == sorted(sent, key=lambda e: e["type"])
    # The consumers' rules are unchanged: the audit trail gets the bus's own event.
    (audited,) = bodies(bus["audit"]["url"])
    assert (audited["detail-type"], audited["detail"]) == ("order.created", sent[0])


def test_the_tap_is_the_local_clouds_own() -> None:
    bus = resources.EVENT_BUSES["events"]
    assert bus.local_tap is not None and resources.QUEUES[bus.local_tap].local_only
    assert bus.local_tap not in resources.deployed_queues()
    assert all(queue_key in resources.deployed_queues() for _, _, queue_key in bus.rules)
