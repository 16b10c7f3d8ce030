"""Sample plans of the seed's shape: the INFO 7255 sample verbatim, and plans built so each test
gets unique objectIds."""

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


# The seed's sample plan, as README.md's plan.json has it: its objectIds are the ones clients reuse.
SAMPLE_PLAN_ID = "12xvxc345ssdsds-508"
SAMPLE_PLAN: dict[str, Any] = {
    "planCostShares": {
        "deductible": 2000,
        "_org": "example.com",
        "copay": 23,
        "objectId": "1234vxc2324sdf-501",
        "objectType": "membercostshare",
    },
    "linkedPlanServices": [
        {
            "linkedService": {
                "_org": "example.com",
                "objectId": "1234520xvc30asdf-502",
                "objectType": "service",
                "name": "Yearly physical",
            },
            "planserviceCostShares": {
                "deductible": 10,
                "_org": "example.com",
                "copay": 0,
                "objectId": "1234512xvc1314asdf-502",
                "objectType": "membercostshare",
            },
            "_org": "example.com",
            "objectId": "27283xvx9asdff-504",
            "objectType": "planservice",
        }
    ],
    "_org": "example.com",
    "objectId": SAMPLE_PLAN_ID,
    "objectType": "plan",
    "planType": "inNetwork",
    "creationDate": "12-12-2017",
}
# The planservice the seed's merge PATCH adds to it.
WELL_BABY: dict[str, Any] = {
    "linkedService": {
        "_org": "example.com",
        "objectId": "1234520xvc30asdf-503",
        "objectType": "service",
        "name": "Well baby",
    },
    "planserviceCostShares": {
        "deductible": 10,
        "_org": "example.com",
        "copay": 175,
        "objectId": "1234512xvc1314sdfsd-503",
        "objectType": "membercostshare",
    },
    "_org": "example.com",
    "objectId": "27283xvx9sdf-505",
    "objectType": "planservice",
}
