"""StreamPoller.step() against a fake dynamodbstreams client and a real Chalice app.

Handlers are registered with `@app.on_dynamodb_record`, so every delivery goes through
Chalice's own DynamoDBEvent wrapper, as it does in Lambda.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from chalice import Chalice

from devstack.runtime import streams
from devstack.runtime.invoker import Invoker
from devstack.runtime.streams import StreamPoller
from devstack.runtime.wakeup import Wakeup
from tests.unit.fakes import (
    FAILURE_QUEUE_URL,
    REGION,
    STREAM_ARN,
    FakeMonotonic,
    FakeSQS,
    FakeStreams,
    seq_id,
    stream_record,
)

Behaviour = Callable[[list[str]], Any]

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stream-test-local-on_change"


class Harness:
    def __init__(
        self,
        shards: dict[str, list[dict[str, Any]]],
        behaviour: Behaviour = lambda seqs: None,
        batch_size: int = 2,
        starting_position: str = "TRIM_HORIZON",
        max_attempts: int = 3,
        backoff_s: float = 0.0,
        failure_queue_url: str | None = FAILURE_QUEUE_URL,
        interval_s: float = 0.0,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.app = Chalice("stream-test")
        self.calls: list[list[str]] = []
        self.events: list[Any] = []

        @self.app.on_dynamodb_record(
            stream_arn=STREAM_ARN, batch_size=batch_size, starting_position=starting_position, name="on_change"
        )
        def on_change(event: Any) -> Any:
            records = list(event)
            self.events.append(records)
            seqs = [r.sequence_number for r in records]
            self.calls.append(seqs)
            return behaviour(seqs)

        self.streams = FakeStreams(shards)
        self.sqs = FakeSQS()
        self.invoker = Invoker(self.app, REGION)
        self.poller = StreamPoller(
            self.app.event_sources[0],
            self.invoker,
            self.streams,
            self.sqs,
            REGION,
            failure_queue_url,
            interval_s=interval_s,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            wakeup=wakeup,
        )

    def steps(self, count: int) -> None:
        for _ in range(count):
            self.poller.step()


def seqs(*numbers: int) -> list[str]:
    return [seq_id(n) for n in numbers]


def records(*numbers: int) -> list[dict[str, Any]]:
    return [stream_record(n) for n in numbers]


def fail_item(seq: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": seq}]}


def test_records_are_delivered_in_order_in_batches_of_batch_size() -> None:
    h = Harness({"shard-1": records(1, 2, 3, 4, 5)}, batch_size=2)

    h.steps(5)

    assert h.calls == [seqs(1, 2), seqs(3, 4), seqs(5)]
    assert all(call["Limit"] == 2 for call in h.streams.get_records_calls())
    assert h.sqs.sent == []
    assert h.invoker.stats["on_change"].invocations == 3
    assert h.invoker.stats["on_change"].records == 5
    assert h.invoker.stats["on_change"].errors == 0


def test_handler_sees_lambda_shaped_records_through_chalice() -> None:
    h = Harness({"shard-1": records(7)}, batch_size=10)

    h.steps(1)

    (record,) = h.events[0]
    assert record.event_name == "INSERT"
    assert record.event_id == "event-7"
    assert record.event_source_arn == STREAM_ARN
    assert record.table_name == "sp-test-orders"
    assert record.aws_region == REGION
    assert record.keys == {"pk": {"S": "item-7"}}
    # Binary attributes arrive base64-encoded, as in a Lambda event.
    assert record.new_image == {"pk": {"S": "item-7"}, "n": {"N": "7"}, "blob": {"B": "Bw=="}}
    assert record.old_image is None
    assert record.size_bytes == 27
    assert record.stream_view_type == "NEW_AND_OLD_IMAGES"
    raw = record.to_dict()
    assert raw["eventSource"] == "aws:dynamodb"
    assert raw["dynamodb"]["ApproximateCreationDateTime"] == 1709294407.0


def test_latest_starting_position_skips_records_already_in_the_shard() -> None:
    h = Harness({"shard-1": records(1, 2)}, starting_position="LATEST")

    h.steps(1)
    h.streams.shards["shard-1"].append(stream_record(3))
    h.steps(2)

    assert h.calls == [seqs(3)]
    assert h.streams.iterator_requests()[0]["ShardIteratorType"] == "LATEST"


def test_a_raising_handler_is_retried_on_the_same_records_then_reported_and_the_shard_moves_on() -> None:
    def behaviour(batch: list[str]) -> None:
        if seq_id(1) in batch:
            raise RuntimeError("poison")

    h = Harness({"shard-1": records(1, 2, 3)}, behaviour, batch_size=2, max_attempts=3)

    h.steps(3)

    assert h.calls == [seqs(1, 2)] * 3
    assert len(h.sqs.sent) == 1
    sent = h.sqs.sent[0]
    assert sent["QueueUrl"] == FAILURE_QUEUE_URL
    failure = json.loads(sent["MessageBody"])
    assert failure["requestContext"]["functionArn"] == FUNCTION_ARN
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert failure["version"] == "1.0"
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": "shard-1",
        "startSequenceNumber": seq_id(1),
        "endSequenceNumber": seq_id(2),
        "approximateArrivalOfFirstRecord": "2024-03-01T12:00:01.000Z",
        "approximateArrivalOfLastRecord": "2024-03-01T12:00:02.000Z",
        "batchSize": 2,
        "streamArn": STREAM_ARN,
    }

    h.steps(2)

    # Past the discarded batch, the next record is delivered and nothing more is reported.
    assert h.calls[3:] == [seqs(3)]
    assert len(h.sqs.sent) == 1
    assert h.invoker.stats["on_change"].errors == 3
    assert h.poller.cursors["shard-1"].attempts == 0


def test_a_discarded_batch_without_a_failure_queue_is_dropped_and_the_shard_moves_on() -> None:
    def behaviour(batch: list[str]) -> None:
        if seq_id(1) in batch:
            raise RuntimeError("poison")

    h = Harness({"shard-1": records(1, 2)}, behaviour, batch_size=1, max_attempts=2, failure_queue_url=None)

    h.steps(4)

    assert h.calls == [seqs(1), seqs(1), seqs(2)]
    assert h.sqs.sent == []


def test_batch_item_failure_on_the_second_record_checkpoints_past_the_first_and_retries_from_the_second() -> None:
    answers = iter([fail_item(seq_id(2)), None, None])
    h = Harness({"shard-1": records(1, 2, 3, 4)}, lambda batch: next(answers), batch_size=3)

    h.steps(3)

    assert h.calls == [seqs(1, 2, 3), seqs(2, 3), seqs(4)]
    assert h.sqs.sent == []
    assert h.invoker.stats["on_change"].errors == 0


def test_partial_success_is_checkpointed_so_an_expired_iterator_resumes_after_it() -> None:
    answers = iter([fail_item(seq_id(2)), None, None])
    h = Harness({"shard-1": records(1, 2, 3)}, lambda batch: next(answers), batch_size=3)

    h.steps(1)
    assert h.poller.cursors["shard-1"].last_sequence == seq_id(1)
    h.steps(1)  # the retry of 2..3 succeeds
    assert h.poller.cursors["shard-1"].last_sequence == seq_id(3)

    h.streams.shards["shard-1"].append(stream_record(4))
    h.streams.expire_next.add("shard-1")
    h.steps(2)

    assert h.streams.iterator_requests()[-1] == {
        "StreamArn": STREAM_ARN,
        "ShardId": "shard-1",
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "SequenceNumber": seq_id(3),
    }
    assert h.calls == [seqs(1, 2, 3), seqs(2, 3), seqs(4)]


def test_an_expired_iterator_before_any_delivery_restarts_from_trim_horizon() -> None:
    h = Harness({"shard-1": records(1, 2)}, batch_size=10)
    h.streams.expire_next.add("shard-1")

    h.steps(2)

    assert [r["ShardIteratorType"] for r in h.streams.iterator_requests()] == ["TRIM_HORIZON", "TRIM_HORIZON"]
    assert h.calls == [seqs(1, 2)]


def test_an_expired_iterator_past_trimmed_records_resumes_at_the_oldest_kept_one(caplog) -> None:
    h = Harness({"shard-1": records(1, 2)}, batch_size=10)
    h.steps(1)
    h.streams.shards["shard-1"] += records(3, 4, 5)
    h.streams.trim("shard-1", 3)  # 1, 2 (delivered) and 3 (not yet) are gone
    h.streams.expire_next.add("shard-1")

    h.steps(2)

    assert [r["ShardIteratorType"] for r in h.streams.iterator_requests()][-1] == "TRIM_HORIZON"
    assert h.calls == [seqs(1, 2), seqs(4, 5)]
    assert "stream records trimmed before delivery" in caplog.text


def test_a_record_that_always_fails_is_reported_alone_after_its_predecessors_succeeded() -> None:
    h = Harness(
        {"shard-1": records(1, 2, 3, 4)},
        lambda batch: fail_item(seq_id(2)) if seq_id(2) in batch else None,
        batch_size=3,
        max_attempts=3,
    )

    h.steps(3)

    # The first attempt checkpoints past record 1; records 2..3 then fail until exhausted.
    assert h.calls == [seqs(1, 2, 3), seqs(2, 3), seqs(2, 3)]
    (sent,) = h.sqs.sent
    info = json.loads(sent["MessageBody"])["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (seq_id(2), seq_id(3), 2)

    h.steps(1)
    assert h.calls[3:] == [seqs(4)]


def test_later_failure_items_pick_the_earliest_failed_record() -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": seq_id(3)}, {"itemIdentifier": seq_id(2)}]}, None])
    h = Harness({"shard-1": records(1, 2, 3)}, lambda batch: next(answers), batch_size=3)

    h.steps(2)

    assert h.calls == [seqs(1, 2, 3), seqs(2, 3)]


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(fail_item("no-such-sequence"), id="unknown"),
        pytest.param(
            {"batchItemFailures": [{"itemIdentifier": seq_id(2)}, {"itemIdentifier": "no-such-sequence"}]},
            id="known-and-unknown",
        ),
        pytest.param({"batchItemFailures": [{"itemIdentifier": None}]}, id="null"),
    ],
)
def test_a_failure_naming_an_unknown_item_retries_the_whole_batch(response: dict[str, Any]) -> None:
    answers = iter([response, None])
    h = Harness({"shard-1": records(1, 2)}, lambda batch: next(answers), batch_size=2)

    h.steps(2)

    assert h.calls == [seqs(1, 2), seqs(1, 2)]


def test_an_empty_batch_item_failures_list_is_a_success() -> None:
    h = Harness({"shard-1": records(1, 2, 3)}, lambda batch: {"batchItemFailures": []}, batch_size=2)

    h.steps(2)

    assert h.calls == [seqs(1, 2), seqs(3)]


def test_retries_wait_for_a_doubling_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeMonotonic()
    monkeypatch.setattr(streams, "time", clock)

    def behaviour(batch: list[str]) -> None:
        raise RuntimeError("down")

    h = Harness({"shard-1": records(1)}, behaviour, batch_size=1, max_attempts=4, backoff_s=1.0)

    h.steps(1)
    assert len(h.calls) == 1
    clock.now += 0.9
    h.steps(1)
    assert len(h.calls) == 1  # still inside the first 1 s backoff
    clock.now += 0.2
    h.steps(1)
    assert len(h.calls) == 2
    clock.now += 1.9
    h.steps(1)
    assert len(h.calls) == 2  # the second backoff is 2 s
    clock.now += 0.2
    h.steps(1)
    assert len(h.calls) == 3


def test_a_closed_empty_shard_stops_being_polled_while_others_go_on() -> None:
    h = Harness({"shard-old": [], "shard-new": records(1)}, batch_size=10)
    h.streams.closed.add("shard-old")

    h.steps(1)
    assert h.poller.cursors["shard-old"].closed is True
    h.streams.shards["shard-new"].append(stream_record(2))
    h.steps(3)

    assert len(h.streams.get_records_calls("shard-old")) == 1
    assert len(h.streams.get_records_calls("shard-new")) >= 2
    assert h.calls == [seqs(1), seqs(2)]


def test_a_shard_that_closes_with_its_last_records_is_retired_after_delivering_them() -> None:
    h = Harness({"shard-old": records(1, 2), "shard-new": []}, batch_size=10)
    h.streams.closed.add("shard-old")

    h.steps(1)  # delivers 1..2; the response carries no NextShardIterator
    h.streams.shards["shard-new"].append(stream_record(3))
    h.steps(2)

    assert h.calls == [seqs(1, 2), seqs(3)]
    assert h.poller.cursors["shard-old"].closed is True


def test_shards_that_appear_later_are_read_from_trim_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "SHARD_REFRESH_S", -1.0)  # re-describe the stream on every step
    h = Harness({"shard-1": records(1)}, batch_size=10, starting_position="LATEST")

    h.steps(1)
    h.streams.add_shard("shard-2", records(2, 3))
    h.steps(1)

    positions = {r["ShardId"]: r["ShardIteratorType"] for r in h.streams.iterator_requests()}
    assert positions == {"shard-1": "LATEST", "shard-2": "TRIM_HORIZON"}
    assert h.calls == [seqs(2, 3)]
    # Known shards are not given a fresh iterator on refresh.
    assert len(h.streams.iterator_requests()) == 2


def test_each_shard_keeps_its_own_order_and_retries() -> None:
    def behaviour(batch: list[str]) -> Any:
        if batch == seqs(1):
            raise RuntimeError("flaky")
        return None

    h = Harness({"shard-a": records(1, 2), "shard-b": records(10, 11)}, behaviour, batch_size=1, max_attempts=5)

    h.steps(3)

    per_shard_a = [c for c in h.calls if c[0] in seqs(1, 2)]
    per_shard_b = [c for c in h.calls if c[0] in seqs(10, 11)]
    assert per_shard_a == [seqs(1)] * 3  # blocked on its failing head record
    assert per_shard_b == [seqs(10), seqs(11)]  # unaffected by shard-a's retries


# -- pausing between steps: a long interval shows whether the poller waited it out ---------------


def _pause_in_background(poller: StreamPoller) -> threading.Thread:
    thread = threading.Thread(target=poller.pause, daemon=True)
    thread.start()
    return thread


def test_after_delivering_a_batch_the_poller_reads_on_without_waiting() -> None:
    h = Harness({"shard-1": records(1, 2, 3)}, batch_size=2, interval_s=60.0, wakeup=Wakeup())
    h.steps(1)

    pausing = _pause_in_background(h.poller)

    pausing.join(timeout=5)
    assert not pausing.is_alive()
    assert h.calls == [seqs(1, 2)]


def test_an_idle_poller_sleeps_until_a_stream_write_wakes_it() -> None:
    wakeup = Wakeup()
    h = Harness({"shard-1": []}, interval_s=60.0, wakeup=wakeup)
    h.steps(1)

    pausing = _pause_in_background(h.poller)
    pausing.join(timeout=0.2)
    assert pausing.is_alive()

    wakeup.notify()
    pausing.join(timeout=5)
    assert not pausing.is_alive()


def test_a_write_during_the_step_is_not_missed_by_the_pause_after_it() -> None:
    wakeup = Wakeup()
    h = Harness({"shard-1": []}, interval_s=60.0, wakeup=wakeup)
    h.streams.during_get_records = wakeup.notify  # a write lands while the poller reads
    h.steps(1)

    pausing = _pause_in_background(h.poller)

    pausing.join(timeout=5)
    assert not pausing.is_alive()


def test_a_batch_waiting_out_its_backoff_does_not_spin() -> None:
    def always_fail(batch: list[str]) -> Any:
        raise RuntimeError("down")

    h = Harness({"shard-1": records(1)}, always_fail, interval_s=60.0, backoff_s=30.0, wakeup=Wakeup())
    h.steps(1)

    pausing = _pause_in_background(h.poller)
    pausing.join(timeout=0.2)
    assert pausing.is_alive()
    h.poller.wakeup.notify()


def test_caught_up_only_once_a_step_begun_after_the_last_write_found_every_shard_drained() -> None:
    wakeup = Wakeup()
    h = Harness({"shard-1": records(1, 2, 3)}, batch_size=2, wakeup=wakeup)
    assert not h.poller.caught_up  # never read

    h.steps(2)
    assert h.calls == [seqs(1, 2), seqs(3)]
    assert not h.poller.caught_up  # the last step delivered: there may be more

    h.steps(1)
    assert h.poller.caught_up

    wakeup.notify()  # a write the poller has not read past
    h.streams.shards["shard-1"].append(stream_record(4))
    assert not h.poller.caught_up
    h.steps(2)
    assert h.calls[-1] == seqs(4)
    assert h.poller.caught_up


def test_a_batch_waiting_to_be_retried_is_not_caught_up() -> None:
    def always_fail(batch: list[str]) -> Any:
        raise RuntimeError("down")

    h = Harness({"shard-1": records(1)}, always_fail, max_attempts=5, backoff_s=30.0, wakeup=Wakeup())
    h.steps(3)
    assert not h.poller.caught_up


def test_without_a_wakeup_a_poller_never_claims_to_be_caught_up() -> None:
    h = Harness({"shard-1": []})
    h.steps(2)
    assert not h.poller.caught_up
