"""Write → searchable lag of documents through the whole pipeline.

Against a fresh local cloud: create plans over HTTP, and for each one time how long after its
201 a has_child search (through the API) finds it. Prints p50/p99 and the ratio to the
stream poll interval; writes bench/search_lag.json.

    .venv/bin/python -m bench.search_lag [--plans 100]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import requests

from bench.event_latency import percentile
from tests.support.plans import plan
from tests.support.stack import start_stack

PASSWORD = "tulip orbit lantern 7"
POLL_S = 0.01


def measure(plans: int) -> dict[str, float]:
    stack = start_stack({"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16"})
    api = stack.endpoints["api"]
    try:
        session = requests.Session()
        user = {"username": "bench", "email": "bench@example.com", "password": PASSWORD, "password2": PASSWORD}
        session.post(f"{api}/api/v1/users/register/", json=user, timeout=10).raise_for_status()
        login = {"username": "bench", "password": PASSWORD}
        token = session.post(f"{api}/api/auth/login/", json=login, timeout=10).json()["access"]
        session.headers["Authorization"] = f"Bearer {token}"
        lags = []
        for n in range(plans):
            document = plan(services=((f"benchservice{n}", n),))
            query: dict[str, Any] = {
                "query": {
                    "has_child": {
                        "type": "linkedPlanServices",
                        "query": {
                            "has_child": {"type": "linkedService", "query": {"match": {"name": f"benchservice{n}"}}}
                        },
                    }
                }
            }
            session.post(f"{api}/api/v1/plans", json=document, timeout=10).raise_for_status()
            written = time.perf_counter()
            while not session.post(f"{api}/api/v1/search", json=query, timeout=10).json()["hits"]["hits"]:
                time.sleep(POLL_S)
            lags.append(time.perf_counter() - written)
        return {
            "plans": plans,
            "p50_ms": round(percentile(lags, 50) * 1000, 1),
            "p99_ms": round(percentile(lags, 99) * 1000, 1),
            "max_ms": round(max(lags) * 1000, 1),
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--poll-interval-s", type=float, default=0.2, help="the stack's DEVSTACK_STREAM_POLL_S")
    args = parser.parse_args()
    result = measure(args.plans)
    result["p99_over_poll_interval"] = round(result["p99_ms"] / 1000 / args.poll_interval_s, 2)
    print(json.dumps(result, indent=2))
    Path(__file__).with_name("search_lag.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
