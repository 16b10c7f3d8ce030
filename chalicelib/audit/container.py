"""Builds the audit log once per process, on first use (it imports PynamoDB)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.audit.service import AuditLog


@functools.cache
def audit_log() -> AuditLog:
    from chalicelib.audit.service import AuditLog
    from chalicelib.audit.store import AuditStore

    return AuditLog(AuditStore())
