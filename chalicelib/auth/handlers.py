"""Identity's stream handler: the table's stream is its outbox. A user item inserted becomes a
`user.registered` event, published at least once even if the request that wrote it died."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import events
from chalicelib.jsonlog import get_logger
from chalicelib.resources import stream_arn

handlers = Blueprint(__name__)
log = get_logger("auth")


def _string(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


@handlers.on_dynamodb_record(stream_arn=stream_arn("identity"), batch_size=50, starting_position="TRIM_HORIZON")
def on_identity_change(event: Any) -> dict[str, Any]:
    failures = []
    for record in event:
        image = record.new_image or {}
        if record.event_name != "INSERT" or _string(image, "sk") != "PROFILE":
            continue
        data = {
            "user_id": _string(image, "user_id"),
            "username": _string(image, "username"),
            "email": _string(image, "email"),
        }
        try:
            events.publish(
                events.envelope(
                    "user.registered", data, event_id=events.stream_event_id(record.event_id, "user.registered")
                )
            )
        except Exception:
            log.exception("could not publish user.registered", extra={"user_id": data["user_id"]})
            failures.append({"itemIdentifier": record.sequence_number})
    return {"batchItemFailures": failures}
