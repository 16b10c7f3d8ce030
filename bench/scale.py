"""`make bench-scale`: how the costs move as the data grows, for products, plans and logs.

    .venv/bin/python -m bench.scale [--sizes 1000,10000,50000] [--kinds products,plans,logs]

Each kind gets a fresh local cloud and grows to every size in turn; at each size it measures,
through the API as a client would:

- the write rate of the step (products: the admin ingest, 1,000 a request; plans: one POST
  each, 4 writers; logs: POST /api/v1/logs, 1,000 events a request);
- write → searchable lag: from the last write acknowledged until search counts every item;
- the first page, the last page reached by cursor, and (plans, products) an offset page, p50/p95;
- one search and one aggregation, p50/p95;
- the resident memory of each component: the devstack process (moto, event runtime, API),
  osmem-server and redis-server; `per_10k` is the growth per 10,000 items between sizes; and
  the size of the stack's data folder (it journals its state, as `make run` does).

Prints a table, writes bench/scale.json and the README's table. Nothing here is a test: a slow
or busy machine changes the numbers, not the build.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.event_latency import percentile
from bench.report import commit, machine, replace_readme_section
from chalicelib.catalog.summaries import REFRESH_S
from tests.support.plans import plan
from tests.support.stack import ROOT, Stack, start_stack, wait_for

RESULT = Path(__file__).with_name("scale.json")
PASSWORD = "tulip orbit lantern 7"
ADMIN = {"username": "scale-admin", "password": "Quartz-meadow-4-violin"}
PAGE = 20
WALK_PAGE = 100
WRITERS = 4
SLOW_S = 1.0


def components(stack: Stack) -> dict[str, float]:
    """Resident memory (MiB) of the devstack process and the servers it started."""
    pid = stack.process.pid
    found = {"devstack": _rss_mib(pid)}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and name in ("osmem-server", "redis-server"):
            found[name.removesuffix("-server")] = _rss_mib(int(entry.name))
    return found


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Timer:
    """Times requests; keeps the slowest one seen, which the curves promise stays under 1 s."""

    def __init__(self) -> None:
        self.slowest: tuple[float, str] = (0.0, "")

    def call(self, label: str, fn: Callable[[], Any]) -> tuple[float, Any]:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, label)
        return elapsed, result

    def sample(self, label: str, fn: Callable[[], Any], samples: int) -> dict[str, float]:
        # The first call after the data changed may pay for what later ones find remembered
        # (the catalog's totals and facets): reported apart, as `first_ms`.
        first = self.call(label, fn)[0]
        times = [self.call(label, fn)[0] for _ in range(samples)]
        return {
            "p50_ms": ms(percentile(times, 50)),
            "p95_ms": ms(percentile(times, 95)),
            "max_ms": ms(max(times)),
            "first_ms": ms(first),
        }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class Api:
    def __init__(self, stack: Stack) -> None:
        self.base = stack.endpoints["api"]
        self.local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers.update(self.headers)
        return self.local.session

    def sign_in(self, username: str, register: bool) -> None:
        if register:
            user = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
            requests.post(f"{self.base}/api/v1/users/register/", json=user, timeout=10).raise_for_status()
        password = PASSWORD if register else ADMIN["password"]
        answer = requests.post(
            f"{self.base}/api/auth/login/", json={"username": username, "password": password}, timeout=10
        )
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['access']}"}

    def get(self, path: str, **params: Any) -> Any:
        answer = self.session.get(self.base + path, params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: Any, status: int | None = None) -> Any:
        answer = self.session.post(self.base + path, json=body, timeout=60)
        answer.raise_for_status()
        if status is not None:
            assert answer.status_code == status, answer.text[:300]
        return answer.json()


@dataclass
class Kind:
    """What one kind of item needs from the bench: writes, a count, pages, a search, an aggregation."""

    api: Api
    timer: Timer
    written: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    name = ""
    admin = False
    offsets = False

    def write(self, count: int) -> None:
        raise NotImplementedError

    def searchable(self) -> int:
        raise NotImplementedError

    def first_page(self) -> Any:
        raise NotImplementedError

    def page(self, cursor: str, limit: int) -> tuple[list[Any], str | None]:
        raise NotImplementedError

    def offset_page(self, offset: int) -> Any:
        raise NotImplementedError

    def search(self) -> Any:
        raise NotImplementedError

    def aggregate(self) -> Any:
        raise NotImplementedError


class Products(Kind):
    name = "products"
    admin = True
    offsets = True

    def write(self, count: int) -> None:
        from devstack.demo_catalog import products

        for start in range(self.written, self.written + count, 1000):
            batch = products(min(1000, self.written + count - start), seed=start, first_id=start + 1, famous=False)
            report = self.api.post("/api/v1/admin/ingest", {"products": batch, "page_size": 100})
            assert report["created"] == len(batch) and not report["skipped"], report
        self.written += count

    def searchable(self) -> int:
        return self.api.get("/api/v1/products", limit=1)["total"]

    def first_page(self) -> Any:
        return self.api.get("/api/v1/products", limit=PAGE)

    def page(self, cursor: str, limit: int) -> tuple[list[Any], str | None]:
        answer = self.api.get("/api/v1/products", limit=limit, cursor=cursor)
        return answer["items"], answer["next"]

    def offset_page(self, offset: int) -> Any:
        return self.api.get("/api/v1/products", limit=PAGE, offset=offset)

    def search(self) -> Any:
        return self.api.get("/api/v1/products/search", query="laptop", limit=PAGE)

    def aggregate(self) -> Any:
        # The categories with their product counts: one terms aggregation over the whole index.
        return self.api.get("/api/v1/categories")


HAS_CHILD = {
    "query": {
        "has_child": {
            "type": "linkedPlanServices",
            "query": {"has_child": {"type": "linkedService", "query": {"match": {"name": "well baby"}}}},
        }
    },
    "size": 20,
}


def nth_plan(n: int) -> dict[str, Any]:
    """The n-th generated plan: one in a hundred holds the "well baby" service HAS_CHILD finds."""
    name = "well baby" if n % 100 == 0 else f"service {n % 37}"
    return plan(services=((name, n % 50), ("Yearly physical", 0)))


class Plans(Kind):
    name = "plans"
    offsets = True

    def write(self, count: int) -> None:
        def create(n: int) -> None:
            document = nth_plan(n)
            self.timer.call("POST /api/v1/plans", lambda: self.api.post("/api/v1/plans", document, 201))

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(create, range(self.written, self.written + count)))
        self.written += count

    def searchable(self) -> int:
        body = {"query": {"term": {"objectType": "plan"}}, "size": 0, "track_total_hits": True}
        return self.api.post("/api/v1/search", body)["hits"]["total"]["value"]

    def first_page(self) -> Any:
        return self.api.get("/api/v1/plans", limit=PAGE)

    def page(self, cursor: str, limit: int) -> tuple[list[Any], str | None]:
        answer = self.api.get("/api/v1/plans", limit=limit, cursor=cursor)
        return answer["items"], answer["next"]

    def offset_page(self, offset: int) -> Any:
        return self.api.get("/api/v1/plans", limit=PAGE, offset=offset)

    def search(self) -> Any:
        return self.api.post("/api/v1/search", HAS_CHILD)

    def aggregate(self) -> Any:
        body = {"size": 0, "aggs": {"copays": {"terms": {"field": "copay", "size": 50}}}}
        return self.api.post("/api/v1/search", body)


class Logs(Kind):
    name = "logs"
    SERVICES = ("api", "worker", "billing", "search", "mail")
    LEVELS = ("info", "info", "info", "warn", "error", "debug")

    def write(self, count: int) -> None:
        now = datetime.datetime.now(datetime.UTC)
        for start in range(self.written, self.written + count, 1000):
            events = [
                {
                    "timestamp": (now - datetime.timedelta(milliseconds=n)).isoformat(),
                    "level": self.LEVELS[n % len(self.LEVELS)],
                    "service": self.SERVICES[n % len(self.SERVICES)],
                    "message": f"request {n} {'timeout talking to upstream' if n % 20 == 0 else 'served'}",
                    "duration_ms": n % 500,
                }
                for n in range(start, min(start + 1000, self.written + count))
            ]
            self.api.post("/api/v1/logs", events, 202)
        self.written += count
        if "dashboard" not in self.extra:
            view = {"type": "count_over_time", "interval": "1m"}
            widget = {"title": "errors", "query": {"level": ["error"]}, "view": view}
            created = self.api.post("/api/v1/dashboards", {"name": "scale", "widgets": [widget]}, 201)
            self.extra["dashboard"] = created["id"]

    def searchable(self) -> int:
        return self.api.get("/api/v1/logs/search", limit=1)["total"]

    def first_page(self) -> Any:
        return self.api.get("/api/v1/logs/search", limit=PAGE)

    def page(self, cursor: str, limit: int) -> tuple[list[Any], str | None]:
        answer = self.api.get("/api/v1/logs/search", limit=limit, cursor=cursor)
        return answer["hits"], answer["next"]

    def search(self) -> Any:
        return self.api.get("/api/v1/logs/search", q="timeout", limit=PAGE)

    def aggregate(self) -> Any:
        return self.api.get(f"/api/v1/dashboards/{self.extra['dashboard']}/data")


KINDS: dict[str, type[Kind]] = {"products": Products, "plans": Plans, "logs": Logs}


def _disk_mib(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def measure_kind(kind_name: str, sizes: list[int], samples: int) -> list[dict[str, Any]]:
    data = Path(tempfile.mkdtemp(prefix=f"bench-scale-{kind_name}-"))
    env = {
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "16",
        "ADMIN_USERNAME": ADMIN["username"],
        "ADMIN_PASSWORD": ADMIN["password"],
        # As `make run` keeps it: the state journaled to a data folder (here a scratch one).
        "DEVSTACK_EPHEMERAL": "false",
        "DEVSTACK_DATA_DIR": str(data),
    }
    stack = start_stack(env)
    rows: list[dict[str, Any]] = []
    try:
        api, timer = Api(stack), Timer()
        kind = KINDS[kind_name](api, timer)
        if kind.admin:
            api.sign_in(ADMIN["username"], register=False)
        else:
            api.sign_in(f"scale{uuid.uuid4().hex[:8]}", register=True)
        baseline = components(stack)
        for size in sizes:
            timer.slowest = (0.0, "")
            started = time.perf_counter()
            kind.write(size - kind.written)
            write_s = time.perf_counter() - started
            acknowledged = time.perf_counter()
            wait_for(lambda size=size: kind.searchable() >= size, timeout_s=900, interval_s=0.05)
            lag_s = time.perf_counter() - acknowledged
            # Measured on a quiet stack: what a reader sees once the writes have landed and the
            # index has refreshed (search is near-real-time; see chalicelib/catalog/summaries.py).
            stack.settle(timeout_s=600)
            time.sleep(REFRESH_S)
            row: dict[str, Any] = {
                "kind": kind.name,
                "items": size,
                "write_items_per_s": round((size - (rows[-1]["items"] if rows else 0)) / write_s, 1),
                "searchable_lag_s": round(lag_s, 2),
                "first_page": timer.sample("first page", kind.first_page, samples),
            }
            last_cursor, row["walk"] = walk_all(kind, timer)
            if last_cursor:
                row["last_cursor_page"] = timer.sample(
                    "last cursor page", functools.partial(kind.page, last_cursor, PAGE), samples
                )
            if kind.offsets:
                deepest = min(size, 10_000) - PAGE
                figure = timer.sample("offset page", functools.partial(kind.offset_page, deepest), samples)
                row["offset_page"] = {"offset": deepest, **figure}
            row["search"] = timer.sample("search", kind.search, samples)
            row["aggregation"] = timer.sample("aggregation", kind.aggregate, samples)
            row["rss_mib"] = components(stack)
            row["data_dir_mib"] = _disk_mib(data)
            row["slowest_request"] = {"ms": ms(timer.slowest[0]), "what": timer.slowest[1]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stack.stop()
        shutil.rmtree(data, ignore_errors=True)
    _per_10k(rows, baseline)
    return rows


def walk_all(kind: Kind, timer: Timer) -> tuple[str | None, dict[str, Any]]:
    """Every page by cursor, WALK_PAGE at a time: the last page's cursor, and what the walk cost."""
    started = time.perf_counter()
    slowest, pages, seen, cursor, last = 0.0, 0, 0, "", None
    while True:
        elapsed, (items, following) = timer.call(
            f"cursor page {pages}", functools.partial(kind.page, cursor, WALK_PAGE)
        )
        slowest = max(slowest, elapsed)
        pages += 1
        seen += len(items)
        if not following:
            break
        last, cursor = following, following
    return last, {
        "pages": pages,
        "items": seen,
        "seconds": round(time.perf_counter() - started, 2),
        "slowest_ms": ms(slowest),
    }


def _per_10k(rows: list[dict[str, Any]], baseline: dict[str, float]) -> None:
    previous_items, previous = 0, baseline
    for row in rows:
        grown = row["items"] - previous_items
        row["rss_per_10k_mib"] = {
            name: round((mib - previous.get(name, 0.0)) * 10_000 / grown, 1) for name, mib in row["rss_mib"].items()
        }
        previous_items, previous = row["items"], row["rss_mib"]


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| kind | items | writes/s | lag s | first page p50 / p95 | last cursor page p50 / p95 | whole walk s "
        "| offset page p50 / p95 "
        "| search p50 / p95 | aggregation p50 / p95 | slowest request | RSS MiB devstack / osmem / redis "
        "| per 10k MiB devstack / osmem / redis |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def pair(figure: dict[str, float] | None) -> str:
        return f"{figure['p50_ms']:g} / {figure['p95_ms']:g} ms" if figure else "–"

    def trio(values: dict[str, float]) -> str:
        return " / ".join(f"{values.get(name, 0):g}" for name in ("devstack", "osmem", "redis"))

    for row in rows:
        lines.append(
            f"| {row['kind']} | {row['items']:,} | {row['write_items_per_s']:g} | {row['searchable_lag_s']:g} "
            f"| {pair(row['first_page'])} | {pair(row.get('last_cursor_page'))} | {row['walk']['seconds']:g} "
            f"| {pair(row.get('offset_page'))} "
            f"| {pair(row['search'])} | {pair(row['aggregation'])} | {row['slowest_request']['ms']:g} ms "
            f"| {trio(row['rss_mib'])} | {trio(row['rss_per_10k_mib'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated item counts, ascending")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: products, plans, logs")
    parser.add_argument("--samples", type=int, default=20, help="timed requests per figure")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's table")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    measured_commit = commit()  # before the run: the tree may change while it measures
    started = time.perf_counter()
    rows = []
    for kind in args.kinds.split(","):
        rows += measure_kind(kind.strip(), sizes, args.samples)
    report = {
        "machine": machine(),
        "commit": measured_commit,
        "sizes": sizes,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    markdown = table(rows)
    print(markdown)
    if not args.no_readme:
        replace_readme_section("scale", _described(report, markdown))
    print(f"\nwritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


def _described(report: dict[str, Any], markdown: str) -> str:
    m = report["machine"]
    return (
        f"`make bench-scale` (sizes {', '.join(f'{s:,}' for s in report['sizes'])}; {report['seconds']:g} s): "
        f"commit {report['commit']}, {m['cpus']} cores, {m['processor']}, Python {m['python']}.\n\n{markdown}"
    )


if __name__ == "__main__":
    main()
