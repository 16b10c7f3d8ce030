"""The identity context's composition root: the identity service over its table, its signing
keys, throttles and revocation cache, and the queue password resets go through."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.clients import Clients, QueueSender
from chalicelib.config import Settings
from chalicelib.roots import Root

# The service pulls in PynamoDB (botocore), argon2 and cryptography: loaded when the context is
# built, so a cold start that serves /health or a cached read does not pay for them.
if TYPE_CHECKING:
    from chalicelib.auth.keys import KeyRingSource
    from chalicelib.auth.model import IdentityStorage
    from chalicelib.auth.service import IdentityService

# API-key guessing is cheaper per try than password guessing (no argon2), so a client gets
# more slack before it is throttled, but not unlimited.
API_KEY_FAILURES_PER_LOGIN_FAILURE = 4


@dataclass(frozen=True)
class Identity:
    service: IdentityService


def build(
    settings: Settings,
    clients: Clients,
    *,
    store: IdentityStorage | None = None,
    key_ring: KeyRingSource | None = None,
    send_email: Callable[[str, str, str], str] | None = None,
    enqueue_reset: Callable[[str], None] | None = None,
) -> Identity:
    from chalicelib import mail
    from chalicelib.auth.keys import KeyRingSource
    from chalicelib.auth.passwords import Passwords
    from chalicelib.auth.resources import IDENTITY_MAIL_QUEUE, IDENTITY_TABLE
    from chalicelib.auth.revocation import Revocations
    from chalicelib.auth.service import IdentityService
    from chalicelib.auth.store import IdentityItem, IdentityStore
    from chalicelib.auth.throttle import Throttle
    from chalicelib.auth.tokens import AccessTokens, ExternalIssuers
    from chalicelib.dynamo import bind
    from chalicelib.resources import queue_name

    if store is None:
        bind(IdentityItem, IDENTITY_TABLE, settings)
        store = IdentityStore()
    if key_ring is None:
        key_ring = KeyRingSource(
            lambda: clients.aws("secretsmanager").get_secret_value(SecretId=settings.jwt_keys_secret_id)["SecretString"]
        )

    send_reset = QueueSender(clients, queue_name(IDENTITY_MAIL_QUEUE, settings))

    def enqueue(email_key: str) -> None:
        send_reset(json.dumps({"email": email_key}))

    def throttle(name: str, limit: int, window_s: int) -> Throttle:
        return Throttle(clients.redis, name, limit, window_s)

    service = IdentityService(
        store=store,
        passwords=Passwords(time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_kib),
        tokens=AccessTokens(key_ring, settings.jwt_issuer, settings.jwt_audience, settings.access_token_ttl_s),
        external=ExternalIssuers(settings.oidc_issuers),
        login_throttle=throttle("login", settings.login_throttle_limit, settings.login_throttle_window_s),
        api_key_throttle=throttle(
            "api-key",
            settings.login_throttle_limit * API_KEY_FAILURES_PER_LOGIN_FAILURE,
            settings.login_throttle_window_s,
        ),
        reset_client_throttle=throttle(
            "reset-client", settings.password_reset_per_client, settings.password_reset_window_s
        ),
        reset_email_throttle=throttle(
            "reset-email", settings.password_reset_per_email, settings.password_reset_window_s
        ),
        revocations=Revocations(clients.redis, store.token_generation, store.session_ended),
        send_email=send_email or mail.send_email,
        enqueue_reset=enqueue_reset or enqueue,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        reset_ttl_s=settings.password_reset_ttl_s,
        email_change_ttl_s=settings.email_change_ttl_s,
        public_base_url=settings.public_base_url,
    )
    return Identity(service)


identity: Root[Identity] = Root("identity")
