"""How long a restart takes with real amounts of data kept, beside an empty start.

    .venv/bin/python -m bench.restart [--plans 10000] [--products 20000] [--threads 4]

Loads a stack with a data folder through the API (plans from a few threads, products through
the admin ingest), waits for the stream handlers to catch up, then times, from the process
start to the stack's ready line:

1. a start on an empty data folder (the baseline);
2. the restart after `kill -9` of the loaded stack (the journal is replayed);
3. the restart after a clean stop (one snapshot, nothing to replay).

A restart answers as soon as moto's state is back, and rebuilds the search indexes from the
tables in the background (the event runtime starts once they are done): both moments are
reported, and the bench checks that search finds every plan and product again. Prints the
report and writes bench/restart.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from devstack.demo_catalog import products
from tests.e2e.users import PASSWORD
from tests.support.plans import plan
from tests.support.stack import ROOT, Stack, durable_stack

RESULT = Path(__file__).with_name("restart.json")
ADMIN = {"username": "bench-admin", "password": "Quartz-meadow-4-violin"}
INGEST_PAGE = 1000


def stack_on(data: Path) -> tuple[Stack, float, float]:
    """A stack on `data`; (stack, process start, seconds until the API answered)."""
    started = time.perf_counter()
    stack = durable_stack(data, ADMIN, timeout_s=900)
    return stack, started, round(time.perf_counter() - started, 2)


def login(base: str, username: str, password: str) -> dict[str, str]:
    response = requests.post(f"{base}/api/auth/login/", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access']}"}


def load(stack: Stack, plans: int, product_count: int, threads: int) -> dict[str, Any]:
    base = stack.endpoints["api"]
    user = {"username": "bencher", "email": "bencher@example.com", "password": PASSWORD, "password2": PASSWORD}
    requests.post(f"{base}/api/v1/users/register/", json=user, timeout=30).raise_for_status()
    owner, admin = login(base, "bencher", PASSWORD), login(base, ADMIN["username"], ADMIN["password"])

    def write(document: dict[str, Any]) -> None:
        requests.post(f"{base}/api/v1/plans", json=document, headers=owner, timeout=60).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, (plan(services=((f"Service {n}", n % 50),)) for n in range(plans))))
    plans_s = time.perf_counter() - started
    items = products(product_count, seed=11)
    started = time.perf_counter()
    for start in range(0, len(items), INGEST_PAGE):
        page = {"products": items[start : start + INGEST_PAGE]}
        requests.post(f"{base}/api/v1/admin/ingest", json=page, headers=admin, timeout=600).raise_for_status()
    products_s = time.perf_counter() - started
    stack.settle(timeout_s=1800)
    return {"plans_per_s": round(plans / plans_s, 1), "products_per_s": round(product_count / products_s, 1)}


def searchable(stack: Stack) -> dict[str, int]:
    """What search finds after the restart: every plan of the owner, every product."""
    base = stack.endpoints["api"]
    owner = login(base, "bencher", PASSWORD)
    everything: dict[str, Any] = {"query": {"match_all": {}}, "size": 0, "track_total_hits": True}
    plans = requests.post(f"{base}/api/v1/search", json=everything, headers=owner, timeout=60).json()
    found = requests.get(f"{base}/api/v1/products", params={"limit": 1}, timeout=60).json()
    return {"plan_objects": plans["hits"]["total"]["value"], "products": found["total"]}


def restart_figures(stack: Stack, started: float, api_ready_s: float) -> dict[str, Any]:
    """The API answers once moto's state is back; search is complete once the rebuild is done
    (the event runtime starts then): both, from the process start."""
    stack.settle(timeout_s=1800)
    restored = stack.logs("state restored")[0]
    rebuilt = stack.logs("search indexes rebuilt")[0]
    return {
        "api_ready_s": api_ready_s,
        "search_complete_s": round(time.perf_counter() - started, 2),
        "restore_s": restored["seconds"],
        "replayed_records": restored["records"],
        "items": restored["items"],
        "search_rebuild_s": rebuilt["seconds"],
        "searchable": searchable(stack),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    report: dict[str, Any] = {"plans": args.plans, "products": args.products}
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as scratch:
        data = Path(scratch)
        stack, _, report["empty_start_s"] = stack_on(data / "empty")
        stack.stop()
        stack, _, _ = stack_on(data / "loaded")
        try:
            report["load"] = load(stack, args.plans, args.products, args.threads)
            report["before"] = searchable(stack)
        finally:
            stack.kill()
        stack, started, seconds = stack_on(data / "loaded")
        try:
            report["after_kill_9"] = restart_figures(stack, started, seconds)
        finally:
            stopped = time.perf_counter()
            stack.stop()
            report["clean_stop_s"] = round(time.perf_counter() - stopped, 2)
        stack, started, seconds = stack_on(data / "loaded")
        try:
            report["after_clean_stop"] = restart_figures(stack, started, seconds)
        finally:
            stack.stop()
        report["snapshot_mib"] = round(sum(f.stat().st_size for f in (data / "loaded" / "state").iterdir()) / 2**20, 1)
    print(json.dumps(report, indent=2))
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
