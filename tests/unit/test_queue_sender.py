"""chalicelib.clients.QueueSender: one GetQueueUrl per queue, then only sends."""

from __future__ import annotations

from typing import Any

from chalicelib.clients import QueueSender


class FakeSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_queue_url(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("get_queue_url", kwargs))
        return {"QueueUrl": f"https://sqs.local/{kwargs['QueueName']}"}

    def send_message(self, **kwargs: Any) -> None:
        self.calls.append(("send_message", kwargs))


class FakeClients:
    def __init__(self, sqs: FakeSqs) -> None:
        self.sqs = sqs

    def aws(self, service: str) -> Any:
        assert service == "sqs"
        return self.sqs

    def opensearch(self) -> Any:
        raise AssertionError("not used")

    def redis(self) -> Any:
        raise AssertionError("not used")


def test_the_url_is_asked_for_once_and_a_delay_only_when_given() -> None:
    sqs = FakeSqs()
    send = QueueSender(FakeClients(sqs), "dev-tasks")
    send("one")
    send("two", 30)
    send("three", 0)
    url = "https://sqs.local/dev-tasks"
    assert sqs.calls == [
        ("get_queue_url", {"QueueName": "dev-tasks"}),
        ("send_message", {"QueueUrl": url, "MessageBody": "one"}),
        ("send_message", {"QueueUrl": url, "MessageBody": "two", "DelaySeconds": 30}),
        ("send_message", {"QueueUrl": url, "MessageBody": "three", "DelaySeconds": 0}),
    ]
