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

from chalicelib import batch, events
from chalicelib.auth.resources import IDENTITY_MAIL_QUEUE
from chalicelib.batch import Policy
from chalicelib.jsonlog import get_logger
from chalicelib.resources import queue_name, stream_arn

handlers = Blueprint(__name__)
log = get_logger("auth")


def _user_events(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    user = {"user_id": new.get("user_id")}
    if name == "INSERT":
        return [("user.registered", {**user, "username": new.get("username"), "email": new.get("email")})]
    found = []
    if old.get("email") != new.get("email"):
        found.append(("user.email_changed", {**user, "from": old.get("email"), "to": new.get("email")}))
    pending = new.get("pending_email_hash")
    if pending and pending != old.get("pending_email_hash"):
        found.append(("user.email_change_requested", {**user, "to": new.get("pending_email")}))
    if old.get("password_changed_at") != new.get("password_changed_at"):
        found.append(("user.password_changed", {**user, "via": new.get("password_changed_via")}))
    if old.get("roles") != new.get("roles"):
        found.append(("user.roles_changed", {**user, "from": old.get("roles"), "to": new.get("roles")}))
    return found


def _key_events(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    image = new or old
    data = {"user_id": image.get("user_id"), "key_id": image.get("key_id"), "name": image.get("name")}
    if name == "INSERT":
        return [("user.api_key_created", {**data, "scopes": new.get("scopes")})]
    if name == "REMOVE":
        return [("user.api_key_deleted", data)]
    if old.get("secret_hash") != new.get("secret_hash"):
        return [("user.api_key_regenerated", data)]
    return []


def events_of(
    name: str, old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of each event one stream record of the identity table stands for."""
    old, new = batch.image(old_image), batch.image(new_image)
    sk = (new or old).get("sk")
    if sk == "PROFILE" and new:
        return _user_events(name, old, new)
    if sk == "KEY":
        return _key_events(name, old, new)
    if sk == "EVENT" and name == "INSERT" and new:
        return [(new.get("type") or "user.security_event", json.loads(new.get("data") or "{}"))]
    return []


@handlers.on_dynamodb_record(stream_arn=stream_arn("identity"), batch_size=50, starting_position="TRIM_HORIZON")
def on_identity_change(event: Any) -> dict[str, Any]:
    return batch.each(event, _publish_identity_events, Policy.EACH_RECORD, "could not publish identity events")


def _publish_identity_events(record: Any) -> None:
    found = events_of(record.event_name, record.old_image, record.new_image)
    envelopes = [
        events.envelope(event_type, data, event_id=events.stream_event_id(record.event_id, event_type))
        for event_type, data in found
    ]
    if events.publish_many(envelopes):
        raise RuntimeError("the bus refused an identity event")


def _reset_address(body: str) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    email = message.get("email") if isinstance(message, dict) else None
    return email if isinstance(email, str) and email else None


@handlers.on_sqs_message(queue=queue_name(IDENTITY_MAIL_QUEUE), batch_size=10)
def send_password_resets(event: Any) -> dict[str, Any]:
    return batch.each(event, _send_password_reset, Policy.MESSAGES, "password reset not sent")


def _send_password_reset(record: Any) -> None:
    from chalicelib.auth.container import identity

    email = _reset_address(record.body)
    if email is None:
        # Only the reset route writes here; a message it could not have sent will not
        # get better by being retried.
        log.warning("malformed password-reset message dropped", extra={"body": record.body[:200]})
        return
    identity().service.send_password_reset(email)
