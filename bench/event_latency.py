"""Write → handler latency of the local cloud's event runtime.

Starts the local cloud with the probe app (tests/integration/probe_app), then times how long
after a DynamoDB write its stream handler runs, and how long after an SQS send the queue
handler runs. Prints a table and writes bench/event_latency.json.

    .venv/bin/python -m bench.event_latency [--writes 200] [--gap-ms 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import boto3

from tests.support.stack import start_stack, wait_for

PREFIX = "sp-local"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def journal_times(journal: Path, kind: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in journal.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["kind"] != kind:
            continue
        payload = entry["payload"]
        key = payload["dynamodb"]["Keys"]["pk"]["S"] if kind == "stream" else payload["body"]
        found.setdefault(key, entry["at"])
    return found


def measure(writes: int, gap_s: float) -> dict[str, dict[str, float]]:
    journal = Path(tempfile.mkdtemp()) / "journal.jsonl"
    journal.touch()
    stack = start_stack(
        {
            "DEVSTACK_APP": "tests.integration.probe_app.app:app",
            "DEVSTACK_DECLARATIONS": "tests.integration.probe_app.resources",
            "PROBE_JOURNAL": str(journal),
        }
    )
    try:
        kwargs = {
            "endpoint_url": stack.endpoints["aws"],
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        dynamodb, sqs = boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs)
        queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}-probe-jobs")["QueueUrl"]
        sent: dict[str, dict[str, float]] = {"stream": {}, "sqs": {}}
        for i in range(writes):
            key = f"bench-{i}"
            sent["stream"][key] = time.time()
            dynamodb.put_item(TableName=f"{PREFIX}-probe", Item={"pk": {"S": key}})
            sent["sqs"][key] = time.time()
            sqs.send_message(QueueUrl=queue_url, MessageBody=key)
            time.sleep(gap_s)
        results = {}
        for kind, times in sent.items():
            received = wait_for(
                lambda kind=kind, times=times: got if len(got := journal_times(journal, kind)) >= len(times) else None,
                timeout_s=60,
            )
            latencies = [received[key] - at for key, at in times.items()]
            results[kind] = {
                "count": len(latencies),
                "p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "p99_ms": round(percentile(latencies, 99) * 1000, 1),
                "max_ms": round(max(latencies) * 1000, 1),
                "mean_ms": round(statistics.mean(latencies) * 1000, 1),
            }
        return results
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    results = measure(args.writes, args.gap_ms / 1000)
    print(f"{'path':<8} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, r in results.items():
        print(f"{kind:<8} {r['count']:>5} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8}")
    out = Path(__file__).with_name("event_latency.json")
    out.write_text(json.dumps({"writes": args.writes, "gap_ms": args.gap_ms, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
