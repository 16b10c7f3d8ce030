"""The audit context's composition root: the audit log over its table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.clients import Clients
from chalicelib.config import Settings
from chalicelib.roots import Root

# The store imports PynamoDB (and botocore): loaded when the context is built, not at cold start.
if TYPE_CHECKING:
    from chalicelib.audit.model import AuditStorage
    from chalicelib.audit.service import AuditLog


@dataclass(frozen=True)
class Audit:
    log: AuditLog


def build(settings: Settings, clients: Clients, *, store: AuditStorage | None = None) -> Audit:
    from chalicelib.audit.resources import AUDIT_TABLE
    from chalicelib.audit.service import AuditLog
    from chalicelib.audit.store import AuditEntry, AuditStore
    from chalicelib.dynamo import bind

    if store is None:
        bind(AuditEntry, AUDIT_TABLE, settings)
        store = AuditStore()
    return Audit(AuditLog(store))


audit: Root[Audit] = Root("audit")
