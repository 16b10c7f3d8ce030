"""`make outbox`: the last emails the local cloud sent (password-reset links and the like)."""

from __future__ import annotations

import argparse
import os
import sys

from devstack.control import control


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5, help="how many of the newest emails")
    args = parser.parse_args()
    port = os.environ.get("PORT", "8000")
    try:
        messages = control("/outbox", port)["messages"]
    except OSError:
        print(f"No local cloud answers on port {port}: start it with `make run` first.", file=sys.stderr)
        return 1
    if not messages:
        print("The outbox is empty.")
    for message in messages[-args.n :]:
        print(f"From: {message['source']}\nTo: {', '.join(message['to'])}\nSubject: {message['subject']}\n")
        print(message["body"].rstrip())
        print("-" * 72)
    return 0


if __name__ == "__main__":
    sys.exit(main())
