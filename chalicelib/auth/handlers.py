"""Identity's event handlers.

- The table's stream is identity's outbox: each committed change that matters becomes its
  event, published at least once even if the request that wrote it died: `user.registered`,
  and for the audit trail every change an account takeover would make (email, password,
  roles, API keys) plus the failed-login bursts the service records as items of their own.
- The identity-mail queue carries password-reset requests: the route only enqueues them, so
  its answer says nothing about whether the address has an account.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib import events
from chalicelib.auth.resources import IDENTITY_MAIL_QUEUE
from chalicelib.jsonlog import get_logger
from chalicelib.resources import queue_name, stream_arn

handlers = Blueprint(__name__)
log = get_logger("auth")


def _string(image: dict[str, Any] | None, name: str) -> str | None:
    value = (image or {}).get(name)
    return value.get("S") if isinstance(value, dict) else None


def _value(image: dict[str, Any] | None, name: str) -> Any:
    value = (image or {}).get(name)
    if not isinstance(value, dict):
        return None
    if "L" in value:
        return [entry.get("S") for entry in value["L"]]
    return value.get("S", value.get("N"))


def _user_events(name: str, old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    user = {"user_id": _string(new, "user_id")}
    if name == "INSERT":
        return [("user.registered", {**user, "username": _string(new, "username"), "email": _string(new, "email")})]
    found = []
    if _string(old, "email") != _string(new, "email"):
        found.append(("user.email_changed", {**user, "from": _string(old, "email"), "to": _string(new, "email")}))
    pending = _string(new, "pending_email_hash")
    if pending and pending != _string(old, "pending_email_hash"):
        found.append(("user.email_change_requested", {**user, "to": _string(new, "pending_email")}))
    if _value(old, "password_changed_at") != _value(new, "password_changed_at"):
        found.append(("user.password_changed", {**user, "via": _string(new, "password_changed_via")}))
    if _value(old, "roles") != _value(new, "roles"):
        found.append(("user.roles_changed", {**user, "from": _value(old, "roles"), "to": _value(new, "roles")}))
    return found


def _key_events(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    image = new or old
    data = {"user_id": _string(image, "user_id"), "key_id": _string(image, "key_id"), "name": _string(image, "name")}
    if name == "INSERT":
        return [("user.api_key_created", {**data, "scopes": _value(new, "scopes")})]
    if name == "REMOVE":
        return [("user.api_key_deleted", data)]
    if _string(old, "secret_hash") != _string(new, "secret_hash"):
        return [("user.api_key_regenerated", data)]
    return []


def events_of(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of each event one stream record of the identity table stands for."""
    sk = _string(new or old, "sk")
    if sk == "PROFILE" and new is not None:
        return _user_events(name, old, new)
    if sk == "KEY":
        return _key_events(name, old, new)
    if sk == "EVENT" and name == "INSERT" and new is not None:
        return [(_string(new, "type") or "user.security_event", json.loads(_string(new, "data") or "{}"))]
    return []


@handlers.on_dynamodb_record(stream_arn=stream_arn("identity"), batch_size=50, starting_position="TRIM_HORIZON")
def on_identity_change(event: Any) -> dict[str, Any]:
    failures = []
    for record in event:
        try:
            found = events_of(record.event_name, record.old_image, record.new_image)
            envelopes = [
                events.envelope(event_type, data, event_id=events.stream_event_id(record.event_id, event_type))
                for event_type, data in found
            ]
            if events.publish_many(envelopes):
                raise RuntimeError("the queue or the bus refused an identity event")
        except Exception:
            log.exception("could not publish identity events", extra={"sequence_number": record.sequence_number})
            failures.append({"itemIdentifier": record.sequence_number})
    return {"batchItemFailures": failures}


def _reset_address(body: str) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    email = message.get("email") if isinstance(message, dict) else None
    return email if isinstance(email, str) and email else None


@handlers.on_sqs_message(queue=queue_name(IDENTITY_MAIL_QUEUE), batch_size=10)
def send_password_resets(event: Any) -> dict[str, Any]:
    from chalicelib.auth.container import identity

    failures = []
    for record in event:
        try:
            email = _reset_address(record.body)
            if email is None:
                # Only the reset route writes here; a message it could not have sent will not
                # get better by being retried.
                log.warning("malformed password-reset message dropped", extra={"body": record.body[:200]})
                continue
            identity().service.send_password_reset(email)
        except Exception:
            log.exception("password reset not sent", extra={"message_id": record.to_dict()["messageId"]})
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}
