"""Many clients at once: conditional writes let exactly one win."""

from __future__ import annotations

import threading

from tests.e2e.conftest import Api
from tests.support.plans import plan

WRITERS = 50


def test_fifty_concurrent_patches_with_one_etag_have_exactly_one_winner(stack, api, users, tally):
    alice = users["alice"]
    document = plan()
    created = api.post("/api/v1/plans", json=document, headers=alice)
    assert created.status_code == 201
    url = f"/api/v1/plans/{document['objectId']}"
    etag = created.headers["ETag"]
    results: dict[int, int] = {}
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        with Api(stack.endpoints["api"]) as session:
            barrier.wait()
            response = session.patch(url, json={"planType": f"writer-{n}"}, headers={**alice, "If-Match": etag})
            results[n] = response.status_code

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally["operations tried"] += WRITERS
    winners = [n for n, status in results.items() if status == 200]
    assert len(winners) == 1, results
    assert sorted(results.values()) == [200] + [412] * (WRITERS - 1)
    stored = api.get(url, headers=alice)
    assert stored.json()["planType"] == f"writer-{winners[0]}"
    assert stored.headers["ETag"] != etag
