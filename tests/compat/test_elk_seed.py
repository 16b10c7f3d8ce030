"""The observability seed, ELK Vision SaaS (DRF): the curl lines of its API guide (API_GUIDE.md,
the REST API this platform's observability replaces) and of its README's API section, as
written, with fresh usernames and copied tokens. docs/compat.md lists where we differ."""

from __future__ import annotations

from tests.compat.accounts import PASSWORD, bearer, fresh

REGISTER = """curl -X POST $B/api/v1/users/register/ \\
  -H "Content-Type: application/json" \\
  -d '{
    "username": "$U",
    "email": "$U@example.com",
    "password": "SecurePass123!",
    "password2": "SecurePass123!",
    "first_name": "John",
    "last_name": "Doe"
  }'"""
LOGIN = """curl -X POST $B/api/auth/login/ \\
  -H "Content-Type: application/json" \\
  -d '{
    "username": "$U",
    "password": "SecurePass123!"
  }'"""


def test_the_api_guide_authentication_flow(curl):
    username = fresh("john")
    registered = curl(REGISTER, U=username)
    assert registered.status_code == 201, registered.text
    # The seed answered {"user": {...}, "message"}; we answer the profile itself.
    assert registered.json()["first_name"] == "John"
    tokens = curl(LOGIN, U=username).json()
    assert {"access", "refresh"} <= set(tokens)
    profile = curl('curl -X GET $B/api/v1/users/profile/ -H "Authorization: Bearer $T"', T=tokens["access"])
    assert profile.status_code == 200 and profile.json()["username"] == username
    refreshed = curl(
        """curl -X POST $B/api/auth/refresh/ -H "Content-Type: application/json" -d '{"refresh": "$R"}'""",
        R=tokens["refresh"],
    )
    assert refreshed.status_code == 200 and "access" in refreshed.json()
    # The seed's PUT was partial; its change-password took old_password and new_password.
    auth = f"Bearer {refreshed.json()['access']}"
    put = curl(
        """curl -X PUT $B/api/v1/users/profile/ -H "Authorization: $A" -H "Content-Type: application/json" """
        """-d '{"first_name": "Johnny", "last_name": "Doe"}'""",
        A=auth,
    )
    assert put.status_code == 200 and put.json()["email"] == f"{username}@example.com"
    changed = curl(
        """curl -X POST $B/api/v1/users/change-password/ -H "Authorization: $A" -H "Content-Type: application/json" """
        f"""-d '{{"old_password": "{PASSWORD}", "new_password": "NewSecurePass456!"}}'""",
        A=auth,
    )
    assert changed.status_code == 204, changed.text


def test_the_api_guide_health_checks(curl):
    report = curl("curl $B/health/").json()
    assert report["status"] == "healthy" and report["version"]
    # The seed's checks were database/redis/elasticsearch; ours name the real components.
    assert {"dynamodb", "redis", "opensearch"} <= set(report["checks"])
    assert curl("curl $B/health/live/").status_code == 200
    assert curl("curl $B/health/ready/").status_code == 200


def test_the_api_guide_listings(curl):
    auth = bearer(curl, fresh("elk"))["Authorization"]
    for path in ("/api/v1/logs/search/", "/api/v1/dashboards/", "/api/v1/alerts/"):
        listed = curl(f'curl $B{path} -H "Authorization: $A"', A=auth)
        assert listed.status_code == 200, (path, listed.text)


def test_the_readme_api_examples_answer_as_documented(curl, tmp_path):
    username = fresh("elk")
    curl(REGISTER, U=username)
    login = curl(
        """curl -X POST $B/api/auth/login/ -H "Content-Type: application/json" """
        """-d '{"username":"$U","password":"SecurePass123!"}'""",
        U=username,
    ).json()
    # `jq -r '.token'` finds nothing: the token is `access` (documented difference).
    assert "token" not in login
    token = login["access"]
    # The README's later paths without /v1 (logs, dashboards, alerts) are the API guide's /api/v1 ones here.
    search = curl('curl "$B/api/logs/search/?query=error&level=error" -H "Authorization: Token $T"', T=token)
    assert search.status_code == 404 and search.headers["Content-Type"] == "application/problem+json"
    # `Authorization: Token` (DRF's authtoken scheme) is not ours: 401 says Bearer.
    search = curl('curl "$B/api/v1/logs/search/?q=error&level=error" -H "Authorization: Token $T"', T=token)
    assert search.status_code == 401 and "Bearer" in search.headers["WWW-Authenticate"]
    assert curl('curl "$B/api/v1/logs/search/?q=error&level=error" -H "Authorization: Bearer $T"', T=token).ok
    (tmp_path / "logs.json").write_text('[{"level": "info", "message": "Test log"}]')
    curl.files_dir = tmp_path
    upload = curl(
        'curl -X POST $B/api/logs/upload/ -H "Authorization: Token $T" -F "file=@logs.json" '
        '-F "source=my-application" -F "environment=production"',
        T=token,
    )
    assert upload.status_code == 404
    # Log files go to POST /api/v1/logs/ as a JSON array or NDJSON; a multipart upload is refused clearly.
    multipart = curl('curl -X POST $B/api/v1/logs/ -H "Authorization: Bearer $T" -F "file=@logs.json"', T=token)
    assert multipart.status_code == 415 and "application/json only" in multipart.json()["detail"]
    alert = curl(
        """curl -X POST "$B/api/alerts/" -H "Authorization: Token $T" -H "Content-Type: application/json" -d '{
    "name": "High Error Rate",
    "description": "Alert when error count exceeds threshold",
    "query": "level:error",
    "condition": {"threshold": 10, "window": "5m", "operator": ">"},
    "severity": "critical",
    "enabled": true
  }'""",
        T=token,
    )
    assert alert.status_code == 404
    alert = curl(
        """curl -X POST "$B/api/v1/alerts/" -H "Authorization: Bearer $T" -H "Content-Type: application/json" -d '{
    "name": "High Error Rate",
    "description": "Alert when error count exceeds threshold",
    "query": "level:error",
    "condition": {"threshold": 10, "window": "5m", "operator": ">"},
    "severity": "critical",
    "enabled": true
  }'""",
        T=token,
    )
    # Our alert rule's shape is query/window/comparison/threshold/channels: every difference listed.
    assert alert.status_code == 400
    assert {"$", "$.query"} <= {e["path"] for e in alert.json()["errors"]}
