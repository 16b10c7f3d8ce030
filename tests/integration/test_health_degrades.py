"""Health against real backing services: losing Redis degrades, it does not fail."""

from __future__ import annotations

import requests

from devstack.services import RedisService
from tests.e2e.conftest import Api
from tests.e2e.users import new_user
from tests.support.plans import plan
from tests.support.stack import start_stack


def test_without_redis_health_degrades_and_the_api_still_answers():
    redis = RedisService()
    redis.start()
    stack = start_stack(
        {"REDIS_URL": redis.url, "HEALTH_TIMEOUT_S": "1.5", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "16"}
    )
    try:
        api = stack.endpoints["api"]
        assert requests.get(api + "/health", timeout=10).json()["status"] == "healthy"
        redis.stop()
        response = requests.get(api + "/health", timeout=10)
        assert response.status_code == 200
        report = response.json()
        assert report["status"] == "degraded"
        assert report["checks"]["redis"]["status"] == "down"
        assert report["components"] == {"database": True, "redis": False}
        assert {name for name, c in report["checks"].items() if c["status"] == "up"} == {
            "dynamodb",
            "sqs",
            "opensearch",
        }
        # Redis is optional, so the instance stays ready for traffic.
        assert requests.get(api + "/health/ready", timeout=10).status_code == 200
        # Throttles fail open and the document cache misses: every route still works.
        with Api(api) as session:
            headers = new_user(session, "noredis")
            document = plan()
            created = session.post("/api/v1/plans", json=document, headers=headers)
            assert created.status_code == 201
            url = f"/api/v1/plans/{document['objectId']}"
            assert session.get(url, headers=headers).json() == document
            patched = session.patch(
                url, json={"planType": "x"}, headers={**headers, "If-Match": created.headers["ETag"]}
            )
            assert patched.status_code == 200
            assert session.get(url, headers=headers).json()["planType"] == "x"
    finally:
        stack.stop()
        redis.stop()


def test_readiness_is_503_while_a_required_component_is_down_and_recovers():
    stack = start_stack({"HEALTH_TIMEOUT_S": "1"})
    try:
        api, control = stack.endpoints["api"], stack.endpoints["control"]
        assert requests.post(control + "/services/opensearch/stop", timeout=10).json()["running"] is False
        response = requests.get(api + "/health/ready", timeout=10)
        assert response.status_code == 503
        report = response.json()
        assert report["status"] == "unhealthy"
        assert report["checks"]["opensearch"]["status"] == "down"
        assert requests.post(control + "/services/opensearch/start", timeout=10).json()["running"] is True
        assert requests.get(api + "/health/ready", timeout=10).status_code == 200
    finally:
        stack.stop()
