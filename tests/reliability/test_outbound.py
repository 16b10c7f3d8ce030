"""The admin catalog ingest behind the outbound guard (issue 13, item 14): an administrator's URL
reaches public addresses only, so the API cannot be turned on the network it runs in."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "source",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:5000/",
        "http://10.0.0.5/products",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:5000/",
        "http://[::127.0.0.1]:5000/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
    ],
)
def test_ingest_refuses_local_and_private_sources(api, users, tally, source):
    response = api.post("/api/v1/admin/ingest", json={"source": source}, headers=users["admin"])
    tally["operations tried"] += 1
    assert response.status_code == 400, response.text
    assert "is not allowed" in response.json()["detail"]
