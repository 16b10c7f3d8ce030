"""`make seed` after `make ingest`: the demo shop goes beside the ingested catalog, never over it."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

from tests.support.stack import ROOT


def seed(stack) -> str:
    port = str(urlsplit(stack.endpoints["api"]).port)
    run = subprocess.run(
        [sys.executable, "-m", "devstack.seed"],
        cwd=ROOT,
        env={**os.environ, "PORT": port, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_make_seed_leaves_an_ingested_catalog_alone(stack, api, catalog):
    first = seed(stack)
    assert "products 1000001-1000200: 200 created, 0 already there" in first, first
    for product_id, before in catalog.items():
        after = api.get(f"/api/v1/products/{product_id}")
        assert (after.json(), after.headers["ETag"]) == (before.json(), before.headers["ETag"])
    assert api.get("/api/v1/products/1000001").json()["title"] == "iPhone 15 Pro"
    again = seed(stack)
    assert "products 1000001-1000200: 0 created, 200 already there" in again, again
    assert "alice: 0 order(s) placed" in again
