"""The observability context's composition root: log ingest and search, dashboards, alerts and
the log index template, over the observability table, the logs queue and the log indexes.

The one thing it needs of another context, the address of an account (an owner may always alert
themselves), comes in as a port; the application plugs it in (chalicelib/composition.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.clients import Clients, QueueSender
from chalicelib.config import Settings
from chalicelib.roots import Root

# The dashboards and alerts import PynamoDB (and botocore): loaded when the context is built.
if TYPE_CHECKING:
    from chalicelib.observability.alerts import AlertService, Notify, SendEmail
    from chalicelib.observability.dashboards import DashboardService
    from chalicelib.observability.indexer import TemplateKeeper
    from chalicelib.observability.model import ObservabilityStorage
    from chalicelib.observability.service import LogService


@dataclass(frozen=True)
class Observability:
    logs: LogService
    dashboards: DashboardService
    alerts: AlertService
    templates: TemplateKeeper
    # The alias the daily log indexes are searched through.
    logs_alias: str
    enqueue_logs: Callable[[str], None]

    def ship_events(self, owner: str, events: list[dict[str, Any]]) -> None:
        """Queue events that are already normalised (the platform's own request logs)."""
        from chalicelib.observability.service import pack

        for body in pack(owner, events):
            self.enqueue_logs(body)


def build(
    settings: Settings,
    clients: Clients,
    *,
    owner_email: Callable[[str], str | None],
    store: ObservabilityStorage | None = None,
    notify: Notify | None = None,
    send_email: SendEmail | None = None,
) -> Observability:
    from chalicelib import mail, webhooks
    from chalicelib.dynamo import bind
    from chalicelib.observability.alerts import AlertService, Limits
    from chalicelib.observability.dashboards import DashboardService
    from chalicelib.observability.indexer import TemplateKeeper, template_body
    from chalicelib.observability.resources import LOGS_KEY, OBSERVABILITY_TABLE
    from chalicelib.observability.service import LogService, Walks
    from chalicelib.observability.store import ObservabilityItem, ObservabilityStore
    from chalicelib.resources import queue_name

    if store is None:
        bind(ObservabilityItem, OBSERVABILITY_TABLE, settings)
        store = ObservabilityStore()
    alias = settings.resource_name(LOGS_KEY)
    send = send_email or mail.send_email

    enqueue_logs = QueueSender(clients, queue_name(LOGS_KEY, settings))

    def deliver(channel: dict[str, Any], message: dict[str, Any]) -> None:
        if channel["type"] == "email":
            send(channel["to"], message["subject"], message["text"])
        else:
            webhooks.post_json(
                channel["url"], message["payload"], timeout_s=5.0, allow_private=settings.webhook_allow_private
            )

    def put_log_template() -> None:
        clients.opensearch().indices.put_index_template(name=alias, body=template_body(alias))

    logs = LogService(clients.opensearch, enqueue_logs, alias, settings.logs_retention_days, walks=Walks(clients.redis))
    alerts = AlertService(
        store,
        logs,
        notify or deliver,
        lambda url: webhooks.check_literal_host(url, settings.webhook_allow_private),
        owner_email=owner_email,
        send_email=send,
        public_base_url=settings.public_base_url,
        limits=Limits(settings.alerts_max_rules_per_user, settings.alerts_max_mails_per_recipient_hour),
    )
    return Observability(
        logs=logs,
        dashboards=DashboardService(store, logs),
        alerts=alerts,
        templates=TemplateKeeper(put_log_template),
        logs_alias=alias,
        enqueue_logs=enqueue_logs,
    )


observability: Root[Observability] = Root("observability")
