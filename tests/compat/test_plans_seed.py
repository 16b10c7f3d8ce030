"""The plans seed (INFO 7255 structured documents): the sample plan verbatim, and the curl lines
of the flow its README walks through (create, read, conditional read, stale and fresh merge
PATCH, delete), as the walkthrough in this repository's README reproduces them."""

from __future__ import annotations

import json

from tests.compat.accounts import bearer, fresh
from tests.support.plans import SAMPLE_PLAN

WELL_BABY = """{"linkedPlanServices": [
  {"linkedService": {"_org": "example.com", "objectId": "1234520xvc30asdf-503", "objectType": "service", "name": "Well baby"},
   "planserviceCostShares": {"deductible": 10, "_org": "example.com", "copay": 175, "objectId": "1234512xvc1314sdfsd-503", "objectType": "membercostshare"},
   "_org": "example.com", "objectId": "27283xvx9sdf-505", "objectType": "planservice"}]}"""
ID = "12xvxc345ssdsds-508"


def test_the_sample_plan_flow(curl, tmp_path):
    (tmp_path / "plan.json").write_text(json.dumps(SAMPLE_PLAN))
    curl.files_dir = tmp_path
    auth = bearer(curl, fresh("plans"))["Authorization"]
    # `curl -d @plan.json` without -H sends it form-encoded: the body is JSON, so it is read as JSON.
    created = curl('curl -si -XPOST $B/api/v1/plans -H "Authorization: $A" -d @plan.json', A=auth)
    assert created.status_code == 201, created.text
    etag = created.headers["ETag"]
    assert created.headers["Location"] == f"/api/v1/plans/{ID}"
    read = curl(f'curl -X GET $B/api/v1/plans/{ID} -H "Authorization: $A"', A=auth)
    assert read.status_code == 200 and read.json() == SAMPLE_PLAN and read.headers["ETag"] == etag
    assert (
        curl(f'curl -si $B/api/v1/plans/{ID} -H "Authorization: $A" -H "If-None-Match: $E"', A=auth, E=etag).status_code
        == 304
    )
    stale = f"""curl -s -XPATCH $B/api/v1/plans/{ID} -H "Authorization: $A" -H 'Content-Type: application/json' -H 'If-Match: "stale"' -d '{{}}'"""
    assert curl(stale, A=auth).status_code == 412
    patch = f"""curl -s -XPATCH $B/api/v1/plans/{ID} -H "Authorization: $A" -H 'Content-Type: application/json' -H "If-Match: $E" -d '{WELL_BABY}'"""
    merged = curl(patch, A=auth, E=etag)
    assert merged.status_code == 200, merged.text
    assert [s["linkedService"]["name"] for s in merged.json()["linkedPlanServices"]] == ["Yearly physical", "Well baby"]
    # Without If-Match a write is refused (428): our deliberate, documented difference.
    unconditional = patch.replace(' -H "If-Match: $E"', "")
    assert curl(unconditional, A=auth).status_code == 428
    # A plan is JSON only: a form cannot express it.
    form = curl('curl -XPOST $B/api/v1/plans -H "Authorization: $A" -d objectId=x', A=auth)
    assert form.status_code == 415 and "application/json only" in form.json()["detail"]
    assert curl(f'curl -s -XDELETE $B/api/v1/plans/{ID} -H "Authorization: $A"', A=auth).status_code == 204
    assert curl(f'curl -X GET $B/api/v1/plans/{ID} -H "Authorization: $A"', A=auth).status_code == 404


def test_the_seed_read_without_a_token_is_401(curl):
    # The seed's own README reads a plan without credentials; here every document has an owner.
    unauthenticated = curl(f"curl -X GET $B/api/v1/plans/{ID}")
    assert unauthenticated.status_code == 401
