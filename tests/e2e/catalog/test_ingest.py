"""Ingestion over HTTP and from the command line, from DummyJSON-shaped pages a local server serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

from tests.e2e.shop import admin_headers, fresh_products, searchable
from tests.e2e.users import new_user
from tests.support.dummyjson import dummyjson
from tests.support.stack import ROOT


def ingest_url(api, admin, url: str, page_size: int = 10):
    response = api.post("/api/v1/admin/ingest", json={"source": url, "page_size": page_size}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def test_ingesting_twice_creates_no_duplicates_and_reads_pages_from_the_cache(api):
    admin = admin_headers(api)
    tag, items = fresh_products(45)
    bad = [{"id": items[0]["id"] + 90, "title": "No price", "category": "laptops"}, "not an object", {"title": "x"}]
    with dummyjson(items[:20] + bad + items[20:]) as source:
        # The tag keeps this run's pages apart from any cached by an earlier run on the same port.
        url = f"{source.url}?run={tag}"
        first = ingest_url(api, admin, url)
        assert (first["received"], first["created"], first["updated"], first["unchanged"]) == (48, 45, 0, 0)
        assert first["indexed"] == 45 and first["pages"] == 5 and first["cache_hits"] == 0
        assert [(bad["position"], bad["id"]) for bad in first["skipped"]] == [
            (20, items[0]["id"] + 90),
            (21, None),
            (22, None),
        ]
        assert "$: 'price' is a required property" in first["skipped"][0]["errors"]
        assert first["skipped"][2]["errors"][0] == "$.id: the source id is required"
        assert len(source.requests) == 5

        second = ingest_url(api, admin, url)
        assert (second["created"], second["updated"], second["unchanged"], second["indexed"]) == (0, 0, 45, 0)
        assert second["cache_hits"] == 5 and len(source.requests) == 5, "the second run must not call out"

    page = searchable(api, items)
    assert sorted(p["id"] for p in page["items"]) == sorted(p["id"] for p in items)

    items[3]["price"] = 1.25
    with dummyjson(items) as changed:
        third = ingest_url(api, admin, f"{changed.url}?run={tag}-2", page_size=50)
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 44)
    assert api.get(f"/api/v1/products/{items[3]['id']}").json()["price"] == 1.25


def test_a_source_that_is_not_dummyjson_or_not_there_is_a_problem(api):
    admin = admin_headers(api)
    with dummyjson([]) as source:
        missing = api.post("/api/v1/admin/ingest", json={"source": source.url + "/nothing"}, headers=admin)
    assert missing.status_code == 400 and "answered 404" in missing.json()["detail"]
    refused = api.post("/api/v1/admin/ingest", json={"source": "file:///etc/passwd"}, headers=admin)
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "$.source"


def test_only_administrators_ingest(api):
    body = {"products": []}
    assert api.post("/api/v1/admin/ingest", json=body).status_code == 401
    assert api.post("/api/v1/admin/ingest", json=body, headers=new_user(api, "shopper")).status_code == 403


def test_make_ingest_loads_a_file_with_a_progress_bar(api, stack, tmp_path):
    _, items = fresh_products(30)
    path = tmp_path / "products.json"
    path.write_text(json.dumps({"products": [*items, {"id": 7, "title": "half a product"}], "total": 31}))
    port = str(urlsplit(stack.endpoints["api"]).port)
    run = subprocess.run(
        [sys.executable, "-m", "devstack.ingest", str(path), "--page-size", "10"],
        cwd=ROOT,
        env={**os.environ, "PORT": port, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["received"], summary["created"], summary["skipped"]) == (31, 30, 1)
    assert "[##############################] 31/31 products" in run.stderr
    assert "skipped record #30 (id 7): $: 'category' is a required property" in run.stderr
    searchable(api, items)


def test_make_ingest_without_a_running_stack_says_so(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "devstack.ingest", str(tmp_path / "none.json")],
        cwd=ROOT,
        env={**os.environ, "PORT": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and "start it with `make run` first" in run.stderr
