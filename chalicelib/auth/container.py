"""Builds the identity service from settings, once per process and on first use."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from chalicelib import clients
from chalicelib.config import get_settings

# The service pulls in PynamoDB (botocore), argon2 and cryptography: loaded on first use, so a
# cold start that serves /health or a cached read does not pay for them.
if TYPE_CHECKING:
    from chalicelib.auth.keys import KeyRingSource
    from chalicelib.auth.service import IdentityService

# API-key guessing is cheaper per try than password guessing (no argon2), so a client gets
# more slack before it is throttled, but not unlimited.
API_KEY_FAILURES_PER_LOGIN_FAILURE = 4


@functools.cache
def key_ring() -> KeyRingSource:
    from chalicelib.auth.keys import KeyRingSource

    settings = get_settings()
    return KeyRingSource(
        lambda: clients.aws("secretsmanager").get_secret_value(SecretId=settings.jwt_keys_secret_id)["SecretString"]
    )


@functools.cache
def _reset_queue_url() -> str:
    from chalicelib.resources import IDENTITY_MAIL_QUEUE, queue_name

    return clients.aws("sqs").get_queue_url(QueueName=queue_name(IDENTITY_MAIL_QUEUE))["QueueUrl"]


def enqueue_reset(email_key: str) -> None:
    clients.aws("sqs").send_message(QueueUrl=_reset_queue_url(), MessageBody=json.dumps({"email": email_key}))


@functools.cache
def identity_service() -> IdentityService:
    from chalicelib import mail
    from chalicelib.auth.passwords import Passwords
    from chalicelib.auth.revocation import Revocations
    from chalicelib.auth.service import IdentityService
    from chalicelib.auth.store import IdentityStore
    from chalicelib.auth.throttle import Throttle
    from chalicelib.auth.tokens import AccessTokens, ExternalIssuers

    settings = get_settings()
    store = IdentityStore()
    return IdentityService(
        store=store,
        passwords=Passwords(time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_kib),
        tokens=AccessTokens(key_ring(), settings.jwt_issuer, settings.jwt_audience, settings.access_token_ttl_s),
        external=ExternalIssuers(settings.oidc_issuers),
        login_throttle=Throttle(
            clients.redis, "login", settings.login_throttle_limit, settings.login_throttle_window_s
        ),
        api_key_throttle=Throttle(
            clients.redis,
            "api-key",
            settings.login_throttle_limit * API_KEY_FAILURES_PER_LOGIN_FAILURE,
            settings.login_throttle_window_s,
        ),
        reset_client_throttle=Throttle(
            clients.redis, "reset-client", settings.password_reset_per_client, settings.password_reset_window_s
        ),
        reset_email_throttle=Throttle(
            clients.redis, "reset-email", settings.password_reset_per_email, settings.password_reset_window_s
        ),
        revocations=Revocations(clients.redis, store.token_generation, store.session_ended),
        send_email=mail.send_email,
        enqueue_reset=enqueue_reset,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        reset_ttl_s=settings.password_reset_ttl_s,
        email_change_ttl_s=settings.email_change_ttl_s,
        public_base_url=settings.public_base_url,
    )
