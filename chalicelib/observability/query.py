"""The log query language shared by search, dashboard widgets and alert rules. Pure functions.

A query is {q, level, service}: `q` is OpenSearch query-string syntax over the message (and
`field:value` for any field), `level` and `service` are lists of exact values. Every query is
wrapped in a filter on the owner, so however `q` is written it cannot reach another owner's
events.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import BadRequest
from chalicelib.search import EXHAUSTIVE_REWRITE

# The levels events may carry, and the spellings shippers use for them.
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
LEVEL_ALIASES = {"warning": "warn", "critical": "fatal", "err": "error", "notice": "info"}

_DURATION = re.compile(r"^(\d{1,7})(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RELATIVE = re.compile(r"^now(?:-(\d{1,6})(s|m|h|d|w))?$")
# Histogram intervals a search picks from: the smallest that keeps the buckets under the cap.
INTERVALS = ("1s", "5s", "10s", "30s", "1m", "5m", "10m", "30m", "1h", "3h", "6h", "12h", "1d", "7d")
MAX_AUTO_BUCKETS = 120
MAX_BUCKETS = 1000


def normalize_level(value: str) -> str | None:
    lowered = value.strip().lower()
    lowered = LEVEL_ALIASES.get(lowered, lowered)
    return lowered if lowered in LEVELS else None


def duration_s(text: str) -> int:
    """'30s', '5m', '1h', '1d' → seconds; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def parse_instant(name: str, text: str, now: datetime.datetime) -> datetime.datetime:
    """`now`, `now-15m` (s, m, h, d, w), epoch milliseconds, or ISO 8601 with a timezone."""
    text = text.strip()
    try:
        return _instant(name, text, now)
    except (OverflowError, OSError, ValueError):
        raise BadRequest(f"{name}: {text!r} is out of range") from None


def _instant(name: str, text: str, now: datetime.datetime) -> datetime.datetime:
    relative = _RELATIVE.match(text)
    if relative:
        if relative.group(1) is None:
            return now
        unit = relative.group(2)
        seconds = int(relative.group(1)) * (7 * 86400 if unit == "w" else _UNIT_S[unit])
        return now - datetime.timedelta(seconds=seconds)
    if text.isdigit():
        return datetime.datetime.fromtimestamp(int(text) / 1000, datetime.UTC)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        expected = "ISO 8601, epoch milliseconds or now[-<n><s|m|h|d|w>]"
        raise BadRequest(f"{name}: expected {expected}, got {text!r}") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name}: {text!r} needs a timezone (Z or an offset)")
    return moment.astimezone(datetime.UTC)


def epoch_ms(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ms(ms: float) -> str:
    return iso(datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC))


@dataclass(frozen=True)
class Window:
    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def parse(
        cls, start: str | None, end: str | None, now: datetime.datetime, default_span: datetime.timedelta
    ) -> Window:
        until = parse_instant("to", end, now) if end else now
        since = parse_instant("from", start, now) if start else until - default_span
        if since >= until:
            raise BadRequest("from must be before to")
        return cls(since, until)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def auto_interval(self) -> str:
        for interval in INTERVALS:
            if self.seconds / duration_s(interval) <= MAX_AUTO_BUCKETS:
                return interval
        # Years: whole days, as many as keep the buckets under the cap.
        return f"{math.ceil(self.seconds / MAX_AUTO_BUCKETS / 86400)}d"

    def range_filter(self) -> dict[str, Any]:
        # [start, end): consecutive windows never count an event twice.
        bounds = {"gte": epoch_ms(self.start), "lt": epoch_ms(self.end), "format": "epoch_millis"}
        return {"range": {"timestamp": bounds}}

    def histogram(self, interval: str) -> dict[str, Any]:
        if self.seconds / duration_s(interval) > MAX_BUCKETS:
            raise BadRequest(f"an interval of {interval} makes more than {MAX_BUCKETS} buckets in this window")
        return {
            "date_histogram": {
                "field": "timestamp",
                "fixed_interval": interval,
                "min_doc_count": 0,
                "extended_bounds": {"min": epoch_ms(self.start), "max": epoch_ms(self.end) - 1},
            }
        }


@dataclass(frozen=True)
class LogQuery:
    q: str = ""
    levels: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> LogQuery:
        """From a stored query ({q, level, service}; lists already validated by a schema)."""
        data = data or {}
        levels = tuple(normalize_level(level) or level for level in data.get("level", []))
        return cls(data.get("q", "").strip(), levels, tuple(data.get("service", [])))

    @classmethod
    def from_params(cls, params: dict[str, str]) -> LogQuery:
        """From query parameters: q, and comma-separated level and service."""
        levels = []
        for raw in _split(params.get("level")):
            level = normalize_level(raw)
            if level is None:
                raise BadRequest(f"level: {raw!r} is not one of {', '.join(LEVELS)}")
            levels.append(level)
        return cls((params.get("q") or "").strip(), tuple(levels), tuple(_split(params.get("service"))))

    def to_dict(self) -> dict[str, Any]:
        return {"q": self.q, "level": list(self.levels), "service": list(self.services)}

    def bool_query(self, owner: str, window: Window) -> dict[str, Any]:
        filters: list[dict[str, Any]] = [{"term": {"owner": owner}}, window.range_filter()]
        if self.levels:
            filters.append({"terms": {"level": list(self.levels)}})
        if self.services:
            filters.append({"terms": {"service": list(self.services)}})
        query: dict[str, Any] = {"filter": filters}
        if self.q:
            query["must"] = [
                {
                    "query_string": {
                        "query": self.q,
                        "default_field": "message",
                        "default_operator": "AND",
                        "lenient": True,
                        # A leading wildcard scans every term of the field: too costly to offer.
                        "allow_leading_wildcard": False,
                        **EXHAUSTIVE_REWRITE,
                    }
                }
            ]
        return {"bool": query}


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
