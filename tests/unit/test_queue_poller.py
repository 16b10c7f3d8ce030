"""QueuePoller.step() against a fake SQS client and a real Chalice `@app.on_sqs_message` handler,
plus the Invoker that both pollers call handlers through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice import Chalice

from devstack.runtime.invoker import Invoker, batch_item_failures
from devstack.runtime.queues import QueuePoller
from tests.unit.fakes import QUEUE_ARN, QUEUE_URL, REGION, FakeSQS, sqs_message

Behaviour = Callable[[list[str]], Any]


class Harness:
    def __init__(
        self,
        messages: list[dict[str, Any]],
        behaviour: Behaviour = lambda ids: None,
        batch_size: int = 10,
        retry_delay_s: int = 7,
    ) -> None:
        self.app = Chalice("queue-test")
        self.calls: list[list[str]] = []
        self.events: list[list[Any]] = []

        @self.app.on_sqs_message(queue="sp-test-jobs", batch_size=batch_size, name="on_job")
        def on_job(event: Any) -> Any:
            records = list(event)
            self.events.append(records)
            ids = [r.to_dict()["messageId"] for r in records]
            self.calls.append(ids)
            return behaviour(ids)

        self.sqs = FakeSQS(messages)
        self.invoker = Invoker(self.app, REGION)
        self.poller = QueuePoller(
            self.app.event_sources[0], self.invoker, self.sqs, QUEUE_URL, QUEUE_ARN, REGION, retry_delay_s=retry_delay_s
        )


def messages(*numbers: int) -> list[dict[str, Any]]:
    return [sqs_message(n) for n in numbers]


def failures(*ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


def test_a_successful_batch_is_deleted_in_full() -> None:
    h = Harness(messages(1, 2, 3))

    h.poller.step()

    assert h.calls == [["msg-1", "msg-2", "msg-3"]]
    assert h.sqs.deletes == [
        [
            {"Id": "0", "ReceiptHandle": "rh-1"},
            {"Id": "1", "ReceiptHandle": "rh-2"},
            {"Id": "2", "ReceiptHandle": "rh-3"},
        ]
    ]
    assert h.sqs.visibility_changes == []
    first = h.sqs.receives[0]
    assert first == {
        "QueueUrl": QUEUE_URL,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": 1,
        "AttributeNames": ["All"],
        "MessageSystemAttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }


def test_the_handler_sees_lambda_shaped_sqs_records_through_chalice() -> None:
    message = sqs_message(1, body="hello", attributes={"kind": {"DataType": "String", "StringValue": "job"}})
    h = Harness([message])

    h.poller.step()

    (record,) = h.events[0]
    assert record.body == "hello"
    assert record.receipt_handle == "rh-1"
    raw = record.to_dict()
    assert raw["eventSource"] == "aws:sqs"
    assert raw["eventSourceARN"] == QUEUE_ARN
    assert raw["awsRegion"] == REGION
    assert raw["messageAttributes"] == {
        "kind": {"stringValue": "job", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert raw["attributes"]["ApproximateReceiveCount"] == "1"


def test_an_empty_receive_invokes_nothing() -> None:
    h = Harness([])

    h.poller.step()

    assert h.calls == []
    assert h.sqs.deletes == []
    assert h.sqs.visibility_changes == []
    assert h.invoker.stats == {}


def test_batch_item_failures_delete_all_but_the_failed_which_come_back_after_the_retry_delay() -> None:
    h = Harness(messages(1, 2, 3), lambda ids: failures("msg-2"), retry_delay_s=7)

    h.poller.step()

    assert h.sqs.deleted_handles == ["rh-1", "rh-3"]
    assert h.sqs.visibility_changes == [[{"Id": "0", "ReceiptHandle": "rh-2", "VisibilityTimeout": 7}]]


def test_an_empty_batch_item_failures_list_deletes_everything() -> None:
    h = Harness(messages(1, 2), lambda ids: {"batchItemFailures": []})

    h.poller.step()

    assert h.sqs.deleted_handles == ["rh-1", "rh-2"]
    assert h.sqs.visibility_changes == []


def test_a_raising_handler_deletes_nothing_and_releases_every_message_for_retry() -> None:
    def behaviour(ids: list[str]) -> None:
        raise RuntimeError("boom")

    h = Harness(messages(1, 2), behaviour, retry_delay_s=3)

    h.poller.step()

    assert h.sqs.deletes == []
    assert h.sqs.visibility_changes == [
        [
            {"Id": "0", "ReceiptHandle": "rh-1", "VisibilityTimeout": 3},
            {"Id": "1", "ReceiptHandle": "rh-2", "VisibilityTimeout": 3},
        ]
    ]
    assert h.invoker.stats["on_job"].errors == 1


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(failures("msg-404"), id="unknown"),
        pytest.param(failures("msg-1", "msg-404"), id="known-and-unknown"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": ""}]}, id="empty-id"),
        pytest.param({"batchItemFailures": [{}]}, id="missing-id"),
    ],
)
def test_a_response_naming_an_unknown_id_fails_the_whole_batch(response: dict[str, Any]) -> None:
    h = Harness(messages(1, 2), lambda ids: response)

    h.poller.step()

    assert h.sqs.deletes == []
    assert h.sqs.retried_handles == ["rh-1", "rh-2"]


def test_a_batch_size_above_ten_gathers_several_receives_into_one_invocation() -> None:
    h = Harness(messages(*range(1, 31)), batch_size=25)

    h.poller.step()

    assert [r["MaxNumberOfMessages"] for r in h.sqs.receives] == [10, 10, 5]
    assert [r["WaitTimeSeconds"] for r in h.sqs.receives] == [1, 0, 0]
    assert h.calls == [[f"msg-{n}" for n in range(1, 26)]]
    # Deletes go out in SQS's batches of at most ten, each numbered from 0.
    assert [len(chunk) for chunk in h.sqs.deletes] == [10, 10, 5]
    assert [e["Id"] for e in h.sqs.deletes[2]] == ["0", "1", "2", "3", "4"]
    assert h.sqs.deleted_handles == [f"rh-{n}" for n in range(1, 26)]
    assert len(h.sqs.queue) == 5  # the rest wait for the next step


def test_gathering_stops_when_the_queue_runs_dry_within_a_zero_batching_window() -> None:
    h = Harness(messages(1, 2, 3), batch_size=25)

    h.poller.step()

    assert [r["MaxNumberOfMessages"] for r in h.sqs.receives] == [10, 10]
    assert h.calls == [["msg-1", "msg-2", "msg-3"]]


def test_failed_messages_of_a_large_batch_are_released_in_chunks_of_ten() -> None:
    def behaviour(ids: list[str]) -> None:
        raise RuntimeError("down")

    h = Harness(messages(*range(1, 13)), behaviour, batch_size=12)

    h.poller.step()

    assert [len(chunk) for chunk in h.sqs.visibility_changes] == [10, 2]
    assert h.sqs.retried_handles == [f"rh-{n}" for n in range(1, 13)]


def test_batch_size_limits_how_many_messages_are_taken() -> None:
    h = Harness(messages(1, 2, 3, 4, 5), batch_size=2)

    h.poller.step()
    h.poller.step()

    assert h.calls == [["msg-1", "msg-2"], ["msg-3", "msg-4"]]
    assert [r["MaxNumberOfMessages"] for r in h.sqs.receives] == [2, 2]


# --- Invoker


def test_invoker_reports_the_handler_result_and_counts_records() -> None:
    app = Chalice("inv")

    @app.on_sqs_message(queue="q", name="h")
    def handler(event: Any) -> Any:
        return failures("a", "b")

    invoker = Invoker(app, REGION)
    event = {"Records": [{"messageId": "a", "body": "", "receiptHandle": "r"}] * 2}

    invocation = invoker.invoke("h", event, source="test")

    assert invocation.ok is True
    assert invocation.failed_items == {"a", "b"}
    assert invocation.error is None
    assert vars(invoker.stats["h"]) == {"invocations": 1, "errors": 0, "records": 2}


def test_invoker_turns_an_exception_into_a_failed_invocation() -> None:
    app = Chalice("inv")

    @app.lambda_function(name="h")
    def handler(event: Any, context: Any) -> Any:
        assert context.function_name == "inv-local-h"
        raise KeyError("missing")

    invoker = Invoker(app, REGION)

    invocation = invoker.invoke("h", {}, source="test")

    assert invocation.ok is False
    assert invocation.error == "KeyError: 'missing'"
    assert invocation.failed_items is None
    assert vars(invoker.stats["h"]) == {"invocations": 1, "errors": 1, "records": 1}
    assert invoker.function_arn("h") == "arn:aws:lambda:us-east-1:123456789012:function:inv-local-h"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        ("ok", None),
        ({"statusCode": 200}, None),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": 2}]}, {"1", "2"}),
    ],
)
def test_batch_item_failures_reads_the_partial_batch_response(result: Any, expected: set[str] | None) -> None:
    assert batch_item_failures(result) == expected
