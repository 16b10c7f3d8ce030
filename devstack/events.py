"""`make events`: tail the domain events of the running local cloud, one envelope per line.

    python -m devstack.events                 # follow until Ctrl-C
    python -m devstack.events --once          # print what is waiting, then stop
    python -m devstack.events --type order.   # only the types starting with order.

Reads the `events` tap queue, which exists in the local cloud only: a bus rule that only the
local bootstrap creates (devstack/bootstrap.py, `create_tap`) forwards every published event
to it, so the app publishes to EventBridge alone and nothing fills up in AWS. Like a Kafka
console consumer, each message is printed, then deleted; the consumers with queues of their
own (stock refresh, confirmation mail, audit) are fed by their own rules and are not affected.
"""

from __future__ import annotations

import argparse
import json
import sys

from devstack.client import connect

RECEIVE_MAX = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="stop when no event is waiting")
    parser.add_argument("--type", default="", help="print only the event types starting with this")
    parser.add_argument("--pretty", action="store_true", help="indented JSON instead of one line per event")
    args = parser.parse_args(argv)
    if not connect():
        return 1
    from chalicelib import clients
    from chalicelib.events.delivery import envelope_of
    from chalicelib.resources import queue_name

    sqs = clients.aws("sqs")
    url = sqs.get_queue_url(QueueName=queue_name("events"))["QueueUrl"]
    if not args.once:
        print("Waiting for events (Ctrl-C stops)...", file=sys.stderr)
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=RECEIVE_MAX, WaitTimeSeconds=1 if args.once else 5
            ).get("Messages", [])
            if not messages and args.once:
                return 0
            for message in messages:
                try:
                    event = envelope_of(message["Body"])
                except ValueError:
                    print(f"(not an event) {message['Body'][:200]}", file=sys.stderr)
                    continue
                if event["type"].startswith(args.type):
                    print(json.dumps(event, indent=2 if args.pretty else None), flush=True)
            if messages:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
                )
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
