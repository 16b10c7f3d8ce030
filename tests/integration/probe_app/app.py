"""A small Chalice app whose handlers record what the event runtime delivers to them.

The runtime is generic over any Chalice app; this one exercises every path (stream, queue
with partial failures, schedules) with behaviour a test can steer through the data itself.
Each invocation is appended to the JSON-lines file named by PROBE_JOURNAL.
"""

import json
import os
import threading
import time

from chalice import Chalice, Cron, Rate

import tests.integration.probe_app.resources  # noqa: F401  (declares the probe resources)
from chalicelib.resources import queue_name, stream_arn

app = Chalice(app_name="probe")
_lock = threading.Lock()


def journal(kind: str, payload: object) -> None:
    with _lock, open(os.environ["PROBE_JOURNAL"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, "at": time.time(), "payload": payload}) + "\n")


@app.on_dynamodb_record(stream_arn=stream_arn("probe"), batch_size=10, starting_position="TRIM_HORIZON")
def on_probe_record(event):
    failures = []
    for record in event:
        image = record.new_image or {}
        if "poison" in image:
            failures.append({"itemIdentifier": record.sequence_number})
            continue
        journal("stream", record.to_dict())
    # Report the first poisoned record; the runtime retries from there, as Lambda does.
    return {"batchItemFailures": failures[:1]}


@app.on_sqs_message(queue=queue_name("probe-jobs"), batch_size=5)
def on_job(event):
    failures = []
    for record in event:
        if record.body.startswith("fail"):
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
        journal("sqs", record.to_dict())
    if any(record.body == "crash" for record in event):
        raise RuntimeError("the whole batch fails")
    return {"batchItemFailures": failures}


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    journal("schedule", event.to_dict())


@app.schedule(Cron(0, 3, "?", "*", "MON-FRI", "*"))
def weekday_report(event):
    journal("schedule", event.to_dict())
