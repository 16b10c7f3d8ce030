"""The known log lines the browser tests ship, and what a person should see for them, computed
here from the lines themselves (never copied from an answer of the API).

Ten minutes of events, [T0, T0 + 10 min) with T0 twenty minutes ago on a whole minute, denser
in the middle (PER_MINUTE); and six errors of a burst just before the tests start, outside that
window, for the alert rules.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

PER_MINUTE = (3, 5, 8, 12, 20, 9, 6, 4, 7, 6)
SERVICES = ("api", "worker", "checkout")
SPAN = datetime.timedelta(minutes=len(PER_MINUTE))
BURST = 6
# The burst is stamped this long before it is shipped: inside the 30 s window of the rule that
# resolves, and out of it again a few seconds into the tests.
BURST_AGE_S = 15


def level_of(n: int) -> str:
    return "error" if n % 5 == 0 else "warn" if n % 7 == 3 else "info"


@dataclass(frozen=True)
class Dataset:
    t0: datetime.datetime
    events: list[dict[str, Any]]
    burst: list[dict[str, Any]]

    @classmethod
    def around(cls, now: datetime.datetime) -> Dataset:
        t0 = now.replace(second=0, microsecond=0) - datetime.timedelta(minutes=20)
        events, n = [], 0
        for minute, count in enumerate(PER_MINUTE):
            for k in range(count):
                offset_ms = minute * 60_000 + round(k * 60_000 / count)
                events.append(
                    {
                        "timestamp": iso(t0 + datetime.timedelta(milliseconds=offset_ms)),
                        "level": level_of(n),
                        "service": SERVICES[n % 3],
                        "message": f"request {n} " + ("timeout" if n % 8 == 0 else "ok"),
                        "latency_ms": n % 50 + 0.25,
                        "region": "eu-west-1",
                    }
                )
                n += 1
        stamp = iso(now - datetime.timedelta(seconds=BURST_AGE_S))
        burst = [
            {"timestamp": stamp, "level": "error", "service": "checkout", "message": f"payment declined {k}"}
            for k in range(BURST)
        ]
        return cls(t0, events, burst)

    @property
    def t1(self) -> datetime.datetime:
        return self.t0 + SPAN

    @property
    def window(self) -> dict[str, str]:
        """The absolute range the tests look at, as the console's URL and the API take it."""
        return {"from": iso(self.t0), "to": iso(self.t1)}

    def matching(self, q: str = "", level: str = "") -> list[dict[str, Any]]:
        """The events in the window a query for a word of the message and a level matches, newest first."""
        found = [e for e in self.events if (not q or q in e["message"].split()) and (not level or e["level"] == level)]
        return sorted(found, key=lambda e: e["timestamp"], reverse=True)

    def counts_per(self, seconds: int, events: list[dict[str, Any]]) -> list[int]:
        """Counts in consecutive buckets of `seconds` from T0, empty ones included."""
        counts = [0] * int(SPAN.total_seconds() // seconds)
        for event in events:
            counts[int((parse(event["timestamp"]) - self.t0).total_seconds() // seconds)] += 1
        return counts

    def top(self, field: str, n: int) -> list[tuple[str, int]]:
        """The n commonest values in the window, as OpenSearch orders terms: count, then value."""
        counted = Counter(e[field] for e in self.events)
        return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def average(self, field: str, events: list[dict[str, Any]]) -> float:
        return sum(e[field] for e in events) / len(events)

    @property
    def errors(self) -> int:
        return sum(e["level"] == "error" for e in self.events) + len(self.burst)


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def shown_time(text: str) -> str:
    """An event's time as the console shows it in UTC: 2026-01-02 03:04:05.678."""
    return parse(text).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
