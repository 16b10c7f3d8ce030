"""`make bench`: every figure measured side by side with its baseline in one run.

Prints a table and writes bench/report.json:

    {"machine": {...}, "commit": "...", "figures": [{"name", "unit", "ours", "baseline", "ratio",
      "target", "better": "lower"|"higher", "meets": true|false|null}]}

ratio = ours / baseline. `meets` is null for figures the issue gives no target. Sizes are
parameters; the defaults finish in a few minutes on 2 cores. Nothing here is a test: a slow
machine changes the numbers, not the build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import requests

from bench.event_latency import percentile
from bench.report import commit, machine, replace_readme_section
from tests.support.plans import plan
from tests.support.stack import ROOT, Stack, start_stack

PASSWORD = "tulip orbit lantern 7"
REPORT = Path(__file__).with_name("report.json")


@dataclass
class Figure:
    name: str
    unit: str
    ours: float
    baseline: float
    target: float | None
    better: str
    # The baseline this figure was compared with before issue 17 moved it to the real floor,
    # measured in the same run, so the change of baseline is visible beside the new ratio.
    old_baseline: str | None = None
    old_baseline_value: float | None = None
    ratio: float = 0.0
    old_ratio: float | None = None
    meets: bool | None = None

    def __post_init__(self) -> None:
        self.ratio = round(self.ours / self.baseline, 3) if self.baseline else float("inf")
        if self.old_baseline_value:
            self.old_ratio = round(self.ours / self.old_baseline_value, 3)
        if self.target is not None:
            self.meets = self.ratio <= self.target if self.better == "lower" else self.ratio >= self.target


# -- cold start ---------------------------------------------------------------------------

# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across
# fork+exec, so every child would report at least the harness's own peak.
PROBE = (
    "import time; t = time.perf_counter(); {statement}; elapsed = time.perf_counter() - t; "
    "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]; "
    "print(elapsed, hwm)"
)
OUR_IMPORT = "import app"
BARE_IMPORT = "import boto3, chalice; chalice.Chalice(app_name='bare')"


def _import_sample(statement: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]) / 1024


def cold_start(runs: int) -> list[Figure]:
    # In turns, so each pair shares the machine's moment.
    pairs = [(_import_sample(OUR_IMPORT), _import_sample(BARE_IMPORT)) for _ in range(runs)]
    ours, bare = [o for o, _ in pairs], [b for _, b in pairs]
    return [
        Figure(
            "cold import of app.py vs bare Chalice + boto3",
            "s",
            round(statistics.median(t for t, _ in ours), 4),
            round(statistics.median(t for t, _ in bare), 4),
            1.25,
            "lower",
        ),
        Figure(
            "peak RSS after import, same pair",
            "MiB",
            round(statistics.median(m for _, m in ours), 1),
            round(statistics.median(m for _, m in bare), 1),
            1.25,
            "lower",
        ),
    ]


# -- the running stack ----------------------------------------------------------------------


class Client:
    def __init__(self, stack: Stack) -> None:
        self.base = stack.endpoints["api"]
        self.session = requests.Session()
        user = {"username": "benchuser", "email": "bench@example.com", "password": PASSWORD, "password2": PASSWORD}
        self.session.post(f"{self.base}/api/v1/users/register/", json=user, timeout=10).raise_for_status()
        tokens = self.session.post(
            f"{self.base}/api/auth/login/", json={"username": "benchuser", "password": PASSWORD}, timeout=10
        ).json()
        self.headers = {"Authorization": f"Bearer {tokens['access']}"}
        self.session.headers.update(self.headers)

    def create_plan(self, document: dict[str, Any]) -> None:
        self.session.post(f"{self.base}/api/v1/plans", json=document, timeout=10).raise_for_status()


def _use_stack_in_process(stack: Stack) -> None:
    """Point this process's settings at the stack, as a Lambda's environment would."""
    status = requests.get(stack.endpoints["control"], timeout=10).json()
    os.environ.update(
        AWS_ENDPOINT_URL=stack.endpoints["aws"],
        OPENSEARCH_URL=stack.endpoints["opensearch"],
        REDIS_URL=stack.endpoints["redis"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        PUBLIC_BASE_URL=f"http://localhost:{stack.endpoints['api'].rsplit(':', 1)[1]}",
    )
    from devstack.bootstrap import stream_env

    os.environ.update(stream_env(status["resources"]))


def _per_call_us(call: Callable[[], Any], n: int) -> float:
    for _ in range(min(50, n)):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1e6, 1)


def cached_get(stack: Stack, client: Client, n: int) -> Figure:
    """A cached document GET in-process vs a bare Chalice route that GETs the same bytes from Redis."""
    import redis
    from chalice import Chalice, Response
    from chalice.test import Client as TestClient

    document = plan()
    client.create_plan(document)
    from app import app

    url = f"/api/v1/plans/{document['objectId']}"
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    bare = Chalice(app_name="bare")
    bare.route("/constant")(lambda: {"status": "ok"})

    @bare.route("/cached/{key}")
    def cached(key: str) -> Response:
        # Set before the run, and read as bytes (the client does not decode).
        return Response(
            body=cast(bytes, cache.get(key)).decode(), status_code=200, headers={"Content-Type": "application/json"}
        )

    with TestClient(app) as ours, TestClient(bare) as baseline:
        assert ours.http.get(url, headers=client.headers).status_code == 200
        (key,) = [k.decode() for k in cache.scan_iter(match=f"*{document['objectId']}")]
        assert baseline.http.get(f"/cached/{key}").body == cache.get(key)
        ours_us = _per_call_us(lambda: ours.http.get(url, headers=client.headers), n)
        baseline_us = _per_call_us(lambda: baseline.http.get(f"/cached/{key}"), n)
        constant_us = _per_call_us(lambda: baseline.http.get("/constant"), n)
    return Figure(
        "GET one document, warm cache, in-process, vs a bare route's Redis GET of the same bytes",
        "µs",
        ours_us,
        baseline_us,
        1.5,
        "lower",
        old_baseline="a constant route",
        old_baseline_value=constant_us,
    )


def stream_indexing(stack: Stack, documents: int) -> list[Figure]:
    """Documents/s of the stream handler vs opensearch-py helpers.bulk of the same index documents."""
    from opensearchpy import OpenSearch, helpers

    from app import app
    from chalicelib.documents.tree import flatten
    from chalicelib.resources import SEARCH_INDEXES, SearchIndexSpec
    from chalicelib.search import ensure_index
    from tests.integration.test_document_indexer import image, record

    plans = [plan(services=((f"s{n}", n), (f"t{n}", n))) for n in range(documents)]
    handler = app.handler_map["on_document_change"]
    client = OpenSearch(hosts=[stack.endpoints["opensearch"]])
    spec = SearchIndexSpec(key="bench-raw", mappings=SEARCH_INDEXES["documents-plan"].mappings)
    raw_alias = ensure_index(spec)["alias"]
    ours = baseline = 0.0
    # Batch by batch in turns, ours then the baseline's, so each pair shares the machine's moment.
    for i in range(0, len(plans), 100):
        batch = plans[i : i + 100]
        records = [record("INSERT", p["objectId"], new=image(p, 1)) for p in batch]
        actions = [
            {"_op_type": "index", "_index": raw_alias, "_id": d.id, "routing": d.routing, "_source": d.source}
            for p in batch
            for d in flatten(p)
        ]
        started = time.perf_counter()
        result = handler({"Records": records}, None)
        ours += time.perf_counter() - started
        assert result == {"batchItemFailures": []}, result
        started = time.perf_counter()
        helpers.bulk(client, actions, chunk_size=len(actions))
        baseline += time.perf_counter() - started
    return [
        Figure(
            "stream → OpenSearch indexing (plans/s) vs helpers.bulk of the same documents",
            "plans/s",
            round(documents / ours, 1),
            round(documents / baseline, 1),
            0.9,
            "higher",
        ),
    ]


def search_lag(client: Client, plans: int, poll_s: float) -> list[Figure]:
    lags = []
    for n in range(plans):
        name = f"lagservice{n}"
        query: dict[str, Any] = {
            "query": {
                "has_child": {
                    "type": "linkedPlanServices",
                    "query": {"has_child": {"type": "linkedService", "query": {"match": {"name": name}}}},
                }
            }
        }
        client.create_plan(plan(services=((name, n),)))
        written = time.perf_counter()
        while not client.session.post(f"{client.base}/api/v1/search", json=query, timeout=10).json()["hits"]["hits"]:
            time.sleep(0.01)
        lags.append(time.perf_counter() - written)
    return [
        Figure(
            "write → searchable lag p50, in stream poll intervals",
            "s",
            round(percentile(lags, 50), 3),
            poll_s,
            None,
            "lower",
        ),
        Figure(
            "write → searchable lag p99, in stream poll intervals",
            "s",
            round(percentile(lags, 99), 3),
            poll_s,
            2.0,
            "lower",
        ),
    ]


def throughput(client: Client, seconds: float) -> list[Figure]:
    document = plan()
    client.create_plan(document)
    url = f"{client.base}/api/v1/plans/{document['objectId']}"
    baseline_url = f"{client.base}/health/live"
    figures = []
    for clients in (1, 4, 16):
        ours = _requests_per_second(url, client.headers, clients, seconds)
        baseline = _requests_per_second(baseline_url, {}, clients, seconds)
        figures.append(
            Figure(
                f"local server cached GET, {clients} concurrent client(s), vs /health/live",
                "req/s",
                round(ours, 1),
                round(baseline, 1),
                None,
                "higher",
            )
        )
    return figures


def _requests_per_second(url: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        with requests.Session() as session:
            while time.perf_counter() < deadline:
                assert session.get(url, headers=headers, timeout=10).status_code == 200
                counts[slot] += 1

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def catalog_ingest(products: int) -> list[Figure]:
    """Products/s of the catalog ingestion vs boto3's raw batch_writer plus opensearch-py's raw
    helpers.bulk of the same products, back to back (the two writes ingestion cannot avoid)."""
    from bench.ingest import ingestion, raw_batch_writes, raw_bulk
    from devstack.demo_catalog import products as demo_products

    items = demo_products(products, seed=7)
    write_rate = raw_batch_writes(items)
    bulk_rate = raw_bulk(items)
    ours = ingestion(items, page_size=100)["items_per_s"]
    return [
        Figure(
            "catalog ingest (products/s) vs raw batch_writer + raw helpers.bulk",
            "products/s",
            ours,
            round(1 / (1 / write_rate + 1 / bulk_rate), 1),
            0.9,
            "higher",
            old_baseline="raw batch_writer alone",
            old_baseline_value=write_rate,
        )
    ]


def product_search(client: Client, queries: int) -> list[Figure]:
    """The same search through the API and straight to OpenSearch, p50 and p95: in-process
    (Chalice's test client vs opensearch-py), and through the local HTTP server (vs an HTTP POST)."""
    from chalice.test import Client as TestClient

    from app import app
    from chalicelib import clients
    from chalicelib.catalog.resources import PRODUCTS_INDEX
    from chalicelib.catalog.search import ProductSearch, SearchParams
    from chalicelib.catalog.summaries import REFRESH_S
    from chalicelib.config import get_settings

    params = {"query": "phone", "limit": "20"}
    alias = get_settings().resource_name(PRODUCTS_INDEX)
    # What the API sends once the matches' total and facets are remembered (the first search
    # after the index changed also asks for those): the same work, straight to OpenSearch.
    body = ProductSearch(lambda: None, alias).body(SearchParams.parse(params), summary=False)
    opensearch = clients.opensearch()
    path = "/api/v1/products/search?query=phone&limit=20"
    direct_url = f"{os.environ['OPENSEARCH_URL']}/{alias}/_search"
    api_url = f"{client.base}/api/v1/products/search"
    timings: dict[str, list[float]] = {"in-process": [], "opensearch-py": [], "local server": [], "HTTP": []}
    session: requests.Session  # opened below, around the runs
    calls = {
        "in-process": lambda test: test.http.get(path).status_code == 200,
        "opensearch-py": lambda test: opensearch.search(index=alias, body=body) is not None,
        "local server": lambda test: session.get(api_url, params=params, timeout=10).status_code == 200,
        "HTTP": lambda test: session.post(direct_url, json=body, timeout=10).status_code == 200,
    }
    time.sleep(REFRESH_S)  # the catalog's summaries are kept once the index has refreshed
    with requests.Session() as session, TestClient(app) as test:
        for call in calls.values():
            assert call(test)
        # Interleaved, so each pair shares the machine's moment.
        for _ in range(queries):
            for name, call in calls.items():
                started = time.perf_counter()
                call(test)
                timings[name].append(time.perf_counter() - started)
    figures = []
    for ours, direct, where, target in (
        ("in-process", "opensearch-py", "in-process", 1.15),
        ("local server", "HTTP", "through the local server", 1.3),
    ):
        for p in (50, 95):
            figures.append(
                Figure(
                    f"product search through the API vs direct to OpenSearch, {where}, p{p}",
                    "ms",
                    round(percentile(timings[ours], p) * 1000, 2),
                    round(percentile(timings[direct], p) * 1000, 2),
                    target,
                    "lower",
                )
            )
    return figures


JOURNAL_TABLE = "bench-journal"


def _scratch_table(stack: Stack) -> Any:
    """A table with a stream, as the documents table has (moto records a stream image per write)."""
    dynamodb = stack.aws("dynamodb")
    dynamodb.create_table(
        TableName=JOURNAL_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return dynamodb


def journal_cost(writes: int) -> list[Figure]:
    """The durable state's price on a write: stacks side by side, in memory only, journaling (the
    default: answered once the kernel has the record, synced within 100 ms), and journaling
    with a sync before every answer; written to in turns, so that the machine's noise falls on
    all alike. A document write through the API, and the bare PutItem of the same plan."""
    import tempfile

    env = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16"}
    modes = {"memory": {}, "journal": {"DEVSTACK_JOURNAL_SYNC_MS": "100"}, "fsync": {"DEVSTACK_JOURNAL_SYNC_MS": "0"}}
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as data:
        stacks = {
            mode: start_stack(
                {**env, **extra, "DEVSTACK_EPHEMERAL": "false", "DEVSTACK_DATA_DIR": f"{data}/{mode}"} if extra else env
            )
            for mode, extra in modes.items()
        }
        try:
            clients = {mode: Client(stack) for mode, stack in stacks.items()}
            tables = {mode: _scratch_table(stack) for mode, stack in stacks.items()}
            api: dict[str, list[float]] = {mode: [] for mode in modes}
            raw: dict[str, list[float]] = {mode: [] for mode in modes}
            order = list(modes)
            for n in range(writes):
                document = plan()
                item = {"pk": {"S": document["objectId"]}, "body": {"S": json.dumps(document)}}
                for mode in order[n % 3 :] + order[: n % 3]:
                    started = time.perf_counter()
                    clients[mode].create_plan(document)
                    api[mode].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    tables[mode].put_item(TableName=JOURNAL_TABLE, Item=item)
                    raw[mode].append(time.perf_counter() - started)
        finally:
            for stack in stacks.values():
                stack.stop()

    def p50_ms(samples: list[float]) -> float:
        return round(statistics.median(samples) * 1000, 3)

    rows = (
        ("POST a plan, state journaled (synced within 100 ms) vs in memory, p50", api, "journal", 1.1),
        ("POST a plan, journal synced before each answer (SYNC_MS=0) vs in memory, p50", api, "fsync", None),
        ("PutItem of the plan straight to moto, journaled vs in memory, p50", raw, "journal", None),
        ("PutItem of the plan, journal synced before each answer vs in memory, p50", raw, "fsync", None),
    )
    return [
        Figure(name, "ms", p50_ms(samples[mode]), p50_ms(samples["memory"]), target, "lower")
        for name, samples, mode, target in rows
    ]


# -- report ---------------------------------------------------------------------------------


def table(figures: list[Figure]) -> str:
    rows = [f"{'figure':<92} {'ours':>10} {'baseline':>10} {'ratio':>7} {'target':>7}  meets  old ratio"]
    for f in figures:
        target = "" if f.target is None else f"{'≤' if f.better == 'lower' else '≥'}{f.target}"
        meets = "-" if f.meets is None else ("yes" if f.meets else "NO")
        old = f"{f.old_ratio} (vs {f.old_baseline})" if f.old_baseline else ""
        rows.append(f"{f.name:<92} {f.ours:>10} {f.baseline:>10} {f.ratio:>7} {target:>7}  {meets:<5}  {old}")
    return "\n".join(rows)


def markdown(figures: list[Figure]) -> str:
    lines = [
        "| figure | ours | baseline | ratio | target | meets | old baseline: ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        target = "" if f.target is None else f"{'≤' if f.better == 'lower' else '≥'}{f.target}"
        meets = "–" if f.meets is None else ("yes" if f.meets else "**no**")
        old = f"{f.old_baseline}: {f.old_ratio}" if f.old_baseline else ""
        lines.append(
            f"| {f.name} | {f.ours:g} {f.unit} | {f.baseline:g} {f.unit} | {f.ratio:g} | {target} | {meets} | {old} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--index-plans", type=int, default=300)
    parser.add_argument("--lag-plans", type=int, default=50)
    parser.add_argument("--throughput-seconds", type=float, default=3.0)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's table")
    parser.add_argument("--journal-writes", type=int, default=300)
    args = parser.parse_args()

    measured_commit = commit()  # before the run: the tree may change while it measures
    figures = cold_start(args.import_runs)
    poll_s = 0.2
    stack = start_stack({"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16", "DEVSTACK_STREAM_POLL_S": str(poll_s)})
    try:
        client = Client(stack)
        _use_stack_in_process(stack)
        figures.append(cached_get(stack, client, args.gets))
        figures += stream_indexing(stack, args.index_plans)
        figures += search_lag(client, args.lag_plans, poll_s)
        figures += catalog_ingest(args.products)
        # The ingest leaves the catalog stream re-reading thousands of products; a search latency
        # measured beside that backlog would measure the backlog.
        stack.settle(timeout_s=300)
        figures += product_search(client, args.searches)
        figures += throughput(client, args.throughput_seconds)
    finally:
        stack.stop()
    figures += journal_cost(args.journal_writes)
    print(table(figures))
    report: dict[str, Any] = {"machine": machine(), "commit": measured_commit, "figures": [asdict(f) for f in figures]}
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    m = report["machine"]
    described = (
        f"`make bench`: commit {report['commit']}, {m['cpus']} cores, {m['processor']}, Python {m['python']}, "
        f"the local cloud on the same machine.\n\n{markdown(figures)}"
    )
    if not args.no_readme:
        replace_readme_section("ratios", described)
    print(f"\nwritten to {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
