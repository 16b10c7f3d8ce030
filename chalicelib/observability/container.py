"""Builds the observability services from settings, once per process and on first use."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from chalicelib import clients
from chalicelib.config import get_settings
from chalicelib.observability.resources import LOGS_KEY
from chalicelib.resources import queue_name

# The dashboards and alerts import PynamoDB (and botocore): loaded on first use.
if TYPE_CHECKING:
    from chalicelib.observability.alerts import AlertService
    from chalicelib.observability.dashboards import DashboardService
    from chalicelib.observability.indexer import TemplateKeeper
    from chalicelib.observability.service import LogService
    from chalicelib.observability.store import ObservabilityStore


def logs_alias() -> str:
    return get_settings().resource_name(LOGS_KEY)


@functools.cache
def _logs_queue_url() -> str:
    return clients.aws("sqs").get_queue_url(QueueName=queue_name("logs"))["QueueUrl"]


def enqueue_logs(body: str) -> None:
    clients.aws("sqs").send_message(QueueUrl=_logs_queue_url(), MessageBody=body)


def ship_events(owner: str, events: list[dict[str, Any]]) -> None:
    """Queue events that are already normalised (the platform's own request logs)."""
    from chalicelib.observability.service import pack

    for body in pack(owner, events):
        enqueue_logs(body)


@functools.cache
def log_service() -> LogService:
    from chalicelib.observability.service import LogService, Walks

    return LogService(
        clients.opensearch,
        enqueue_logs,
        logs_alias(),
        get_settings().logs_retention_days,
        walks=Walks(clients.redis),
    )


@functools.cache
def _store() -> ObservabilityStore:
    from chalicelib.observability.store import ObservabilityStore

    return ObservabilityStore()


@functools.cache
def dashboard_service() -> DashboardService:
    from chalicelib.observability.dashboards import DashboardService

    return DashboardService(_store(), log_service())


def notify(channel: dict[str, Any], message: dict[str, Any]) -> None:
    from chalicelib import mail, webhooks

    if channel["type"] == "email":
        mail.send_email(channel["to"], message["subject"], message["text"])
    else:
        webhooks.post_json(
            channel["url"], message["payload"], timeout_s=5.0, allow_private=get_settings().webhook_allow_private
        )


def check_webhook_url(url: str) -> None:
    from chalicelib.webhooks import check_literal_host

    check_literal_host(url, get_settings().webhook_allow_private)


def owner_email(user_id: str) -> str | None:
    """The account's email: an owner may always alert themselves."""
    from chalicelib.auth.container import identity_service

    user = identity_service().store.user(user_id)
    return user.email if user is not None else None


@functools.cache
def alert_service() -> AlertService:
    from chalicelib import mail
    from chalicelib.observability.alerts import AlertService, Limits

    settings = get_settings()
    limits = Limits(settings.alerts_max_rules_per_user, settings.alerts_max_mails_per_recipient_hour)
    return AlertService(
        _store(),
        log_service(),
        notify,
        check_webhook_url,
        owner_email=owner_email,
        send_email=mail.send_email,
        public_base_url=settings.public_base_url,
        limits=limits,
    )


def put_log_template() -> None:
    from chalicelib.observability.indexer import template_body

    alias = logs_alias()
    clients.opensearch().indices.put_index_template(name=alias, body=template_body(alias))


@functools.cache
def template_keeper() -> TemplateKeeper:
    from chalicelib.observability.indexer import TemplateKeeper

    return TemplateKeeper(put_log_template)
