"""The embedded EventBridge's durable state: event buses and their rules with targets.

Recorded whole, for the region, after any request that may change them. PutEvents is not
recorded: what it delivers lands in SQS queues, which record it themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devstack.state.recorder import recorded_requests, whole_region

UNRECORDED = ("PutEvents", "TestEventPattern")
READ_PREFIXES = ("Describe", "List")
RULE_FIELDS = ("description", "scheduled_expression", "role_arn", "state", "managed_by", "targets")


def _backends() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.events.models import events_backends

    return events_backends[DEFAULT_ACCOUNT_ID]


def _record(region: str) -> dict[str, Any]:
    buses = []
    for bus in _backends()[region].event_buses.values():
        rules = [
            {
                "name": rule.name,
                "pattern": rule.event_pattern._raw_pattern,
                **{f: getattr(rule, f) for f in RULE_FIELDS},
            }
            for rule in bus.rules.values()
        ]
        buses.append({"name": bus.name, "description": bus.description, "tags": bus.tags, "rules": rules})
    return {"k": "events", "r": region, "buses": buses}


def install() -> None:
    from moto.events.responses import EventsHandler

    recorded_requests(
        EventsHandler,
        lambda action: action not in UNRECORDED and not action.startswith(READ_PREFIXES),
        whole_region(_record),
    )


def export() -> Iterator[dict[str, Any]]:
    for region in list(_backends()):
        yield _record(region)


class Restorer:
    kinds = ("events",)

    def apply(self, record: dict[str, Any]) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.events.models import Rule

        backend = _backends()[record["r"]]
        wanted = {bus["name"]: bus for bus in record["buses"]}
        for name in [name for name in backend.event_buses if name not in wanted and name != "default"]:
            del backend.event_buses[name]
        for name, kept in wanted.items():
            bus = backend.event_buses.get(name) or backend.create_event_bus(name, description=kept["description"])
            bus.tags = kept["tags"]
            bus.rules.clear()
            for rule in kept["rules"]:
                fields = {f: rule[f] for f in RULE_FIELDS}
                bus.rules[rule["name"]] = Rule(  # type: ignore[abstract]  # not an ABC at run time
                    rule["name"],
                    DEFAULT_ACCOUNT_ID,
                    record["r"],
                    fields.pop("description"),
                    rule["pattern"],
                    fields.pop("scheduled_expression"),
                    fields.pop("role_arn"),
                    name,
                    **fields,
                )

    def finish(self) -> None:
        pass
