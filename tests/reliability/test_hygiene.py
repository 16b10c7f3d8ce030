"""Hygiene (issue 13, item 12): personal answers are never kept by a shared cache."""

from __future__ import annotations

import pytest

from tests.support.plans import plan

PERSONAL = [
    "/api/v1/users/profile/",
    "/api/v1/orders/",
    "/api/v1/tasks/",
    "/api/v1/api-keys/",
    "/api/v1/alerts/",
    "/api/v1/dashboards/",
    "/api/v1/logs/search/?from=now-1h",
]


@pytest.mark.parametrize("path", PERSONAL)
def test_authenticated_personal_answers_are_no_store(api, users, tally, path):
    response = api.get(path, headers=users["alice"])
    tally["operations tried"] += 1
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_errors_of_authenticated_requests_are_no_store_too(api, users):
    assert api.get("/api/v1/orders/ord_nope", headers=users["alice"]).headers["Cache-Control"] == "no-store"


def test_documents_keep_their_revalidation_contract(api, users):
    document = plan()
    assert api.post("/api/v1/plans", json=document, headers=users["alice"]).status_code == 201
    response = api.get(f"/api/v1/plans/{document['objectId']}", headers=users["alice"])
    assert response.headers["Cache-Control"] == "private, no-cache" and response.headers["ETag"]


def test_public_answers_are_left_alone(api):
    assert "no-store" not in api.get("/.well-known/jwks.json").headers["Cache-Control"]
