"""The embedded SES's durable state: verified identities, templates, and the outbox.

Each email sent is recorded as `ses.sent` (the moto message object's fields, whatever kind of
send made it), so the outbox (`make outbox`, `/_devstack/outbox`) is the same after a restart;
restoring it sends nothing. Identities and templates are recorded whole after any other
request that may change them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from devstack.state.recorder import Records, recorded_requests

READ_PREFIXES = ("Get", "List", "Describe")


def _backends() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]


def _sent(region: str, message: Any) -> dict[str, Any]:
    return {"k": "ses.sent", "r": region, "type": type(message).__name__, "fields": copy.deepcopy(vars(message))}


def _settings(region: str) -> dict[str, Any]:
    backend = _backends()[region]
    return {
        "k": "ses",
        "r": region,
        "identities": list(backend.email_identities),
        "templates": copy.deepcopy(backend.templates),
    }


def _changes(handler: Any) -> Records:
    region = handler.region
    if not handler._get_action().startswith("Send"):
        return lambda: [_settings(region)]
    sent_before = len(_backends()[region].sent_messages)
    return lambda: [_sent(region, message) for message in _backends()[region].sent_messages[sent_before:]]


def install() -> None:
    from moto.ses.responses import EmailResponse

    recorded_requests(EmailResponse, lambda action: not action.startswith(READ_PREFIXES), _changes)


def export() -> Iterator[dict[str, Any]]:
    for region, backend in list(_backends().items()):
        yield _settings(region)
        for message in list(backend.sent_messages):
            yield _sent(region, message)


class Restorer:
    kinds = ("ses", "ses.sent")

    def __init__(self) -> None:
        self.sent = 0

    def apply(self, record: dict[str, Any]) -> None:
        from moto.ses import models

        backend = _backends()[record["r"]]
        if record["k"] == "ses.sent":
            message_class = getattr(models, record["type"])
            message = message_class.__new__(message_class)
            vars(message).update(copy.deepcopy(record["fields"]))
            backend.sent_messages.append(message)
            backend.sent_message_count += 1
            self.sent += 1
            return
        for identity in [name for name in backend.email_identities if name not in record["identities"]]:
            del backend.email_identities[identity]
        for identity in record["identities"]:
            if identity not in backend.email_identities:
                backend.create_email_identity_v2(identity, None, None, None)
        backend.templates = copy.deepcopy(record["templates"])

    def finish(self) -> None:
        pass
