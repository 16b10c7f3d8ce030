"""Accounts for end-to-end tests: register over HTTP, log in, return the auth headers."""

from __future__ import annotations

import uuid

PASSWORD = "tulip orbit lantern 7"


def register(api, prefix: str = "user") -> str:
    """A new account with PASSWORD; its username."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    response = api.post(
        "/api/v1/users/register/",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return name


def new_user(api, prefix: str = "user") -> dict[str, str]:
    return login(api, register(api, prefix), PASSWORD)


def login(api, username: str, password: str) -> dict[str, str]:
    response = api.post("/api/auth/login/", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}
