"""Log events in: parse a JSON array or NDJSON body, check each event, normalise the good ones.

One bad event never sinks the batch: each is judged alone and reported with its position
(`index`, 0-based among the events, and for NDJSON the body's `line`). What is accepted is
normalised: timestamp as UTC ISO 8601 with milliseconds, level in its canonical spelling, an
event id (the index document id, so a redelivered batch overwrites instead of duplicating).
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib import schemas
from chalicelib.errors import BadRequest, FieldError
from chalicelib.observability.query import LEVELS, iso, normalize_level

MAX_EVENTS = 10_000
MAX_EVENT_BYTES = 64 * 1024
MAX_DEPTH = 5
# Filled in by the platform; an event that sets them is refused rather than silently changed.
RESERVED_FIELDS = ("owner", "event_id", "ingested_at")
FUTURE_SKEW = datetime.timedelta(days=1)
# Detail for at most this many rejected events; the count covers them all.
MAX_REPORTED = 100


@dataclass
class Parsed:
    position: int
    line: int | None
    value: Any = None
    error: str | None = None


@dataclass
class Outcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0

    def reject(self, parsed: Parsed, errors: list[FieldError]) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            entry: dict[str, Any] = {"index": parsed.position}
            if parsed.line is not None:
                entry["line"] = parsed.line
            entry["errors"] = [{"path": e.path, "message": e.message} for e in errors]
            self.rejected.append(entry)

    def summary(self) -> dict[str, Any]:
        return {"accepted": len(self.accepted), "rejected": self.rejected_count, "errors": self.rejected}


def parse_body(raw: bytes | None) -> list[Parsed]:
    """The body's events in order: a JSON array (one parse) or NDJSON (a parse per line, so a
    malformed line is one rejected event, not a refused request)."""
    if not raw:
        raise BadRequest("The body is empty; send a JSON array or NDJSON of log events")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid UTF-8 (byte {exc.start})") from None
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"Malformed JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise BadRequest("The JSON array is nested too deeply") from None
        except ValueError:
            raise BadRequest("Malformed JSON array: a number has more digits than any field accepts") from None
        parsed = [Parsed(position, None, value) for position, value in enumerate(values)]
    else:
        parsed = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                parsed.append(Parsed(len(parsed), number, json.loads(line)))
            except (ValueError, RecursionError) as exc:
                # JSONDecodeError has a msg; the digit limit's ValueError and RecursionError do not.
                reason = getattr(exc, "msg", "a number that is too long or nesting that is too deep")
                parsed.append(Parsed(len(parsed), number, error=f"malformed JSON: {reason}"))
    if not parsed:
        raise BadRequest("The body holds no events")
    if len(parsed) > MAX_EVENTS:
        raise BadRequest(f"{len(parsed)} events; at most {MAX_EVENTS} per request")
    return parsed


@functools.cache
def _event_schema() -> dict[str, Any]:
    """One event of the request schema, so each is validated alone."""
    batch = schemas.load("log-events")
    return {"$defs": batch["$defs"], "$ref": "#/$defs/event"}


def _timestamp(value: Any, now: datetime.datetime, oldest: datetime.datetime) -> tuple[str | None, str | None]:
    """(normalised timestamp, None) or (None, why not)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, "must be an ISO 8601 string with a timezone, or epoch milliseconds"
    if isinstance(value, int):
        try:
            moment = datetime.datetime.fromtimestamp(value / 1000, datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None, "is out of range"
    else:
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None, "is not an ISO 8601 date-time"
        if moment.tzinfo is None:
            return None, "needs a timezone (Z or an offset)"
    if moment < oldest:
        return None, f"is older than the retention period ({oldest.date().isoformat()})"
    if moment > now + FUTURE_SKEW:
        return None, "is more than a day in the future"
    return iso(moment), None


def _depth(value: Any) -> int:
    """How deep containers nest in the value; iterative, so no nesting can exhaust the stack."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            pending.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _size_errors(event: dict[str, Any]) -> list[FieldError]:
    try:
        size = len(json.dumps(event, ensure_ascii=False).encode("utf-8"))
    except UnicodeEncodeError:
        # JSON may escape a lone surrogate (\ud800); no index or queue can store one.
        return [FieldError("$", "holds a string that is not valid Unicode (a lone surrogate)")]
    return [FieldError("$", f"larger than {MAX_EVENT_BYTES} bytes")] if size > MAX_EVENT_BYTES else []


def check_event(
    parsed: Parsed, now: datetime.datetime, retention_days: int
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    if parsed.error is not None:
        return None, [FieldError("$", parsed.error)]
    event = parsed.value
    errors = schemas.field_errors(_event_schema(), event)
    if not isinstance(event, dict):
        return None, errors
    errors += [FieldError(f"$.{name}", "is set by the platform") for name in RESERVED_FIELDS if name in event]
    level = normalize_level(event["level"]) if isinstance(event.get("level"), str) else None
    if isinstance(event.get("level"), str) and level is None:
        errors.append(FieldError("$.level", f"must be one of {', '.join(LEVELS)} (warning and critical are accepted)"))
    timestamp, why = (None, None)
    if "timestamp" in event:
        timestamp, why = _timestamp(event["timestamp"], now, now - datetime.timedelta(days=retention_days))
        if why:
            errors.append(FieldError("$.timestamp", why))
    if _depth(event) > MAX_DEPTH:
        errors.append(FieldError("$", f"nested deeper than {MAX_DEPTH} levels"))
    if not errors:
        errors += _size_errors(event)
    if errors:
        return None, errors
    return {**event, "timestamp": timestamp, "level": level, "event_id": uuid.uuid4().hex, "ingested_at": iso(now)}, []


def check_all(parsed: list[Parsed], now: datetime.datetime, retention_days: int) -> Outcome:
    outcome = Outcome()
    for item in parsed:
        event, errors = check_event(item, now, retention_days)
        if event is None:
            outcome.reject(item, errors)
        else:
            outcome.accepted.append(event)
    return outcome
