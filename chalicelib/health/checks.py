"""One probe per backing service, each a cheap call that proves reachability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import clients
from chalicelib.config import Settings
from chalicelib.resources import deployed_queues, queue_name


def dynamodb() -> Mapping[str, Any]:
    clients.aws("dynamodb").list_tables(Limit=1)
    return {}


def sqs(settings: Settings) -> Mapping[str, Any]:
    # A queue every environment has (and the functions may reach in AWS).
    probe = next(iter(deployed_queues()))
    clients.aws("sqs").get_queue_url(QueueName=queue_name(probe, settings))
    return {}


def opensearch() -> Mapping[str, Any]:
    cluster_status = clients.opensearch().cluster.health(request_timeout=2)["status"]
    return {"status": "down" if cluster_status == "red" else "up", "cluster_status": cluster_status}


def redis() -> Mapping[str, Any]:
    clients.redis().ping()
    return {}


def all_checks(settings: Settings) -> dict[str, Any]:
    return {
        "dynamodb": dynamodb,
        "sqs": lambda: sqs(settings),
        "opensearch": opensearch,
        "redis": redis,
    }


def required(settings: Settings) -> set[str]:
    """Redis is a cache: without it the API answers from DynamoDB, so it degrades, not fails."""
    names = {"dynamodb", "sqs", "opensearch"}
    return names | {"redis"} if settings.redis_required else names
