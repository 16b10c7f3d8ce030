"""How close to `scheduled_at` a task starts, on a fresh local cloud.

Schedules webhook tasks (to a receiver in this process) at staggered times a few seconds
ahead, at sub-second offsets, plus some with run_now; they are dispatched by the tasks
stream at creation (due within the sweep horizon). With --sweeper, more tasks are scheduled
past the horizon and handed over by the minute sweeper instead (fired through the control
surface once they are within it: about two and a half minutes more). For each task:
started_at − scheduled_at (lateness) and the receiver's arrival − scheduled_at. Writes
bench/task_precision.json.

    .venv/bin/python -m bench.task_precision [--tasks 60] [--sweeper]
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import time
from pathlib import Path
from typing import Any

import requests

from bench.event_latency import percentile
from tests.support.receiver import start_receiver
from tests.support.stack import start_stack, wait_for

PASSWORD = "tulip orbit lantern 7"
HORIZON_S = 120


def parse(moment: str) -> float:
    return datetime.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "min_ms": round(min(values) * 1000, 1),
        "within_2s": sum(1 for v in values if -0.001 <= v < 2.0) / len(values),
    }


def measure(tasks: int, sweeper: bool) -> dict[str, Any]:
    receiver = start_receiver()
    stack = start_stack({"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16", "WEBHOOK_ALLOW_PRIVATE": "true"})
    api = stack.endpoints["api"]
    try:
        session = requests.Session()
        user = {"username": "bench", "email": "bench@example.com", "password": PASSWORD, "password2": PASSWORD}
        session.post(f"{api}/api/v1/users/register/", json=user, timeout=10).raise_for_status()
        token = session.post(f"{api}/api/auth/login/", json={"username": "bench", "password": PASSWORD}, timeout=10)
        session.headers["Authorization"] = f"Bearer {token.json()['access']}"
        rng = random.Random(7)

        def create(offset_s: float | None, path: str) -> dict[str, Any]:
            body: dict[str, Any] = {"name": path, "kind": "webhook", "payload": {"url": receiver.url + path}}
            if offset_s is None:
                body["run_now"] = True
            else:
                moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_s)
                body["scheduled_at"] = moment.isoformat()
            response = session.post(f"{api}/api/v1/tasks/", json=body, timeout=10)
            response.raise_for_status()
            return response.json()

        created: dict[str, list[Any]] = {"stream": [], "run_now": [], "sweeper": []}
        for n in range(tasks):
            if n % 6 == 5:
                created["run_now"].append(create(None, f"/now-{n}"))
            else:
                created["stream"].append(create(3 + rng.random() * 7, f"/soon-{n}"))
        if sweeper:
            for n in range(max(tasks // 4, 5)):
                created["sweeper"].append(create(HORIZON_S + 10 + rng.random() * 5, f"/far-{n}"))

        def all_done(group: list[dict[str, Any]]) -> bool:
            statuses = [session.get(f"{api}/api/v1/tasks/{t['id']}/status/", timeout=10).json() for t in group]
            return all(s["status"] in ("completed", "failed") for s in statuses)

        wait_for(lambda: all_done(created["stream"] + created["run_now"]), timeout_s=60, interval_s=0.5)
        if sweeper:
            # Once the far tasks are within the horizon, the sweeper (fired then rather than at its
            # next minute) claims and queues them with the time left.
            latest = max(parse(task["next_run_at"]) for task in created["sweeper"])
            time.sleep(max(latest - HORIZON_S + 1 - time.time(), 0))
            requests.post(f"{stack.endpoints['control']}/schedules/sweep_tasks", timeout=10).raise_for_status()
            wait_for(lambda: all_done(created["sweeper"]), timeout_s=HORIZON_S + 60, interval_s=1)

        result: dict[str, Any] = {"tasks": sum(len(group) for group in created.values())}
        for path, group in created.items():
            if not group:
                continue
            lateness, arrival = [], []
            for task in group:
                done = session.get(f"{api}/api/v1/tasks/{task['id']}", timeout=10).json()
                scheduled = parse(task["next_run_at"])
                lateness.append(parse(done["started_at"]) - scheduled)
                (delivery,) = receiver.to(task["name"])
                arrival.append(delivery.at - scheduled)
            result[path] = {"started_after_due": summary(lateness), "delivered_after_due": summary(arrival)}
        return result
    finally:
        stack.stop()
        receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--sweeper", action="store_true", help="also measure tasks handed over by the sweeper")
    args = parser.parse_args()
    result = measure(args.tasks, args.sweeper)
    print(json.dumps(result, indent=2))
    Path(__file__).with_name("task_precision.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
