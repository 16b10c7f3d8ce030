"""The platform's composition: every context built from one Settings, and each context's ports
given what another context provides. It stands above the contexts, beside app.py: no context
imports another, so this is the one module (with app.py) that knows more than one of them.

    orders        ← catalog (products and their stock steps), identity (an account's address)
    observability ← identity (an account's address)
    tasks         ← documents (index rebuild), catalog (ingestion), observability (log
                    retention and summaries), identity (an account's address)

`wire()` installs one builder per context (chalicelib/roots.py); each context is built on first
use, so a cold start pays only for the contexts its request touches.
"""

from __future__ import annotations

from chalicelib import clients
from chalicelib.audit import container as audit_root
from chalicelib.audit.container import audit
from chalicelib.auth import container as identity_root
from chalicelib.auth.container import identity
from chalicelib.catalog import container as catalog_root
from chalicelib.catalog.container import catalog
from chalicelib.config import Settings, get_settings
from chalicelib.documents import container as documents_root
from chalicelib.documents.container import documents
from chalicelib.observability import container as observability_root
from chalicelib.observability import shipping
from chalicelib.observability.container import observability
from chalicelib.orders import container as orders_root
from chalicelib.orders.container import orders
from chalicelib.tasks import container as tasks_root
from chalicelib.tasks.container import tasks


def wire(settings: Settings | None = None) -> None:
    """Install every context's builder; a context built before is dropped. Without `settings`,
    the environment's (read when a context is first used)."""

    def current() -> Settings:
        return settings or get_settings()

    def email_of(user_id: str) -> str | None:
        return identity().service.email_of(user_id)

    identity.install(lambda: identity_root.build(current(), clients.of(current())))
    documents.install(lambda: documents_root.build(current(), clients.of(current())))
    catalog.install(lambda: catalog_root.build(current(), clients.of(current())))
    audit.install(lambda: audit_root.build(current(), clients.of(current())))
    orders.install(
        lambda: orders_root.build(
            current(), clients.of(current()), catalog=catalog().store, stock=catalog().stock, email_of=email_of
        )
    )
    observability.install(lambda: observability_root.build(current(), clients.of(current()), owner_email=email_of))
    tasks.install(
        lambda: tasks_root.build(
            current(),
            clients.of(current()),
            rebuild_index=lambda doc_type: documents().rebuild_index(doc_type),
            ingest=lambda request: catalog().service.ingest(request),
            purge_logs=lambda days: observability().logs.purge(days),
            log_summary=lambda owner, since, until: observability().logs.summary(owner, since, until),
            email_of=email_of,
        )
    )
    # The API's own request logs, shipped to the owner `platform` when LOGS_SHIP_REQUESTS is on.
    shipping.install(current().logs_ship_requests, lambda owner, events: observability().ship_events(owner, events))
