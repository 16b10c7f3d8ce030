"""The data of the noninterference worlds: what user B stores, and what user A stores beside it.

A's data overlaps B's on purpose: the INFO 7255 sample plan verbatim (every objectId B uses),
the same child ids inside other plans, the same field names with other values, other orgs and
names B never uses, log fields of the same names but other JSON types, and a registered type's
records with the same ids. A writes some of it before B (wherever the first writer could shape
something shared, a mapping say, A is the first) and the rest after B (wherever the last writer
of a shared id would win, A is the last).
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from tests.support import plans

PERSON_TYPE = "person"
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["objectId", "name"],
    "properties": {
        "objectId": {"type": "string"},
        "_org": {"type": "string"},
        "name": {"type": "string"},
        "ssn": {"type": "string"},
        "salary": {"type": "number"},
        "dept": {"type": "string"},
        "active": {"type": "boolean"},
    },
}


# The seed's sample plan after its README's merge PATCH: both its planservices.
SAMPLE_PLAN: dict[str, Any] = {
    **copy.deepcopy(plans.SAMPLE_PLAN),
    "linkedPlanServices": copy.deepcopy([*plans.SAMPLE_PLAN["linkedPlanServices"], plans.WELL_BABY]),
}


def _variant(plan_id: str, org: str, deductible: float, names: tuple[str, str], plan_type: str) -> dict[str, Any]:
    """Another plan holding the sample's child ids (as INFO 7255 clients do) with other values."""
    plan = copy.deepcopy(SAMPLE_PLAN)
    plan.update(objectId=plan_id, _org=org, planType=plan_type)
    plan["planCostShares"].update(deductible=deductible, _org=org)
    for link, name in zip(plan["linkedPlanServices"], names, strict=True):
        link["_org"] = org
        link["linkedService"].update(name=name, _org=org)
        link["planserviceCostShares"].update(_org=org)
    return plan


B_PLANS = [
    SAMPLE_PLAN,
    _variant("b-second-plan", "example.com", 500, ("Dental cleaning", "Well baby"), "outOfNetwork"),
]
A_PLANS_FIRST = [
    _variant("a-third-plan", "example.com", 750, ("Well baby", "Vision exam"), "hmo"),
    _variant("a-fourth-plan", "zeta.example", 1, ("Chiropractic", "Dental cleaning"), "ppo"),
]
A_PLANS_LAST = [
    copy.deepcopy(SAMPLE_PLAN),
    _variant("b-second-plan", "rival.example", 99999, ("Acupuncture", "Yearly physical"), "inNetwork"),
]
# A standalone service B also stores, whose id one of A's plans holds too.
B_SERVICES = [{"_org": "example.com", "objectId": "standalone-svc-1", "objectType": "service", "name": "Lab work"}]
A_SERVICES_FIRST = [
    {"_org": "rival.example", "objectId": "1234520xvc30asdf-502", "objectType": "service", "name": "Yearly physical"},
]
A_SERVICES_LAST = [
    {"_org": "rival.example", "objectId": "standalone-svc-1", "objectType": "service", "name": "Lab work premium"},
]

B_PEOPLE = [
    {"objectId": "p1", "_org": "example.com", "name": "Ada North", "ssn": "111-22-3333", "salary": 100, "dept": "ops"},
    {"objectId": "p2", "_org": "example.com", "name": "Bo South", "ssn": "444-55-6666", "salary": 250, "active": True},
]
A_PEOPLE_FIRST = [
    {"objectId": "p3", "_org": "example.com", "name": "Cy West", "ssn": "111-22-3333", "salary": 100, "dept": "sales"},
    {"objectId": "p4", "_org": "zeta.example", "name": "Di East", "ssn": "000-00-0001", "dept": "ops", "active": False},
]
A_PEOPLE_LAST = [
    {"objectId": "p1", "_org": "rival.example", "name": "Ada North", "ssn": "999-99-9999", "salary": 900000},
]

# Log lines sit well inside every window the tests ask about, so the seconds between the two
# worlds' requests never move an event across a window's edge.
LOG_BASE = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(minutes=30)
LOG_WORDS = ("timeout", "served", "retry", "database", "cache", "login")


def _at(seconds: int) -> str:
    return (LOG_BASE + datetime.timedelta(seconds=seconds)).isoformat()


def b_logs() -> list[dict[str, Any]]:
    lines = []
    for n in range(40):
        lines.append(
            {
                "timestamp": _at(n * 20),
                "level": ("error", "info", "warn", "info")[n % 4],
                "service": ("api", "worker")[n % 2],
                "message": f"request {n} {LOG_WORDS[n % 4]} {LOG_WORDS[(n + 1) % 4]}",
                "code": f"E{n % 3}",
                "latency_ms": n % 7 * 10,
                "region": "eu",
            }
        )
    return lines


def a_logs() -> list[dict[str, Any]]:
    lines = []
    for n in range(60):
        lines.append(
            {
                "timestamp": _at(n * 13 + 5),
                "level": ("fatal", "error", "debug")[n % 3],
                "service": ("api", "worker", "billing", "search")[n % 4],
                "message": f"request {n} {LOG_WORDS[n % 6]} {LOG_WORDS[(n + 3) % 6]} interloper",
                # The same names as B's fields with other JSON types: whoever writes first must
                # not decide how the other's fields are indexed.
                "code": n,
                "latency_ms": "slow" if n % 2 else 99999,
                "region": {"zone": "eu-1", "rack": n},
                "secret_a": "only-a",
            }
        )
    return lines
