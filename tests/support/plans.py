"""Sample plans of the seed's shape, built so each test gets unique objectIds."""

from __future__ import annotations

import uuid
from typing import Any


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def cost_share(org: str, deductible: float, copay: float) -> dict[str, Any]:
    return {
        "deductible": deductible,
        "_org": org,
        "copay": copay,
        "objectId": _id("mcs"),
        "objectType": "membercostshare",
    }


def plan_service(org: str, name: str, copay: float = 0, deductible: float = 10) -> dict[str, Any]:
    return {
        "linkedService": {"_org": org, "objectId": _id("svc"), "objectType": "service", "name": name},
        "planserviceCostShares": cost_share(org, deductible, copay),
        "_org": org,
        "objectId": _id("ps"),
        "objectType": "planservice",
    }


def plan(org: str = "example.com", services: tuple[tuple[str, float], ...] = (("Yearly physical", 0),)) -> dict:
    return {
        "planCostShares": cost_share(org, 2000, 23),
        "linkedPlanServices": [plan_service(org, name, copay) for name, copay in services],
        "_org": org,
        "objectId": _id("plan"),
        "objectType": "plan",
        "planType": "inNetwork",
        "creationDate": "12-12-2017",
    }
