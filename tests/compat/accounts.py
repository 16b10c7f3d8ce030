"""Fresh accounts for the seeds' flows: the READMEs' usernames with a unique suffix."""

from __future__ import annotations

import uuid

PASSWORD = "SecurePass123!"


def fresh(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:8]}"


def bearer(curl, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Registers (the identity seed's body: no password2) and logs in; the auth header."""
    body = f'{{"username": "{username}", "password": "{password}", "email": "{username}@example.com"}}'
    registered = curl(f"curl -X POST $B/api/users/register/ -H 'Content-Type: application/json' -d '{body}'")
    assert registered.status_code == 201, registered.text
    tokens = curl(f'curl -X POST $B/api/auth/login/ -d \'{{"username": "{username}", "password": "{password}"}}\'')
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access']}"}
