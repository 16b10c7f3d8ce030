"""Every setting the application reads, taken from environment variables once.

12-factor: nothing else in chalicelib reads os.environ. A bad value fails fast with a
ConfigError naming the variable, so a misconfigured Lambda dies at cold start, not on
the first unlucky request.
"""

from __future__ import annotations

import builtins
import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

STAGES = ("local", "test", "dev", "prod")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class EnvReader:
    # The readers are named after the types they return; past `def str`, the annotations name
    # the builtin through `builtins`, as the class body shadows it.

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ

    def str(self, name: str, default: str) -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def optional(self, name: builtins.str) -> builtins.str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def choice(self, name: builtins.str, default: builtins.str, choices: tuple[builtins.str, ...]) -> builtins.str:
        value = self.str(name, default)
        if value not in choices:
            raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def int(self, name: builtins.str, default: int, minimum: int = 0) -> int:
        raw = self.str(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name}: must be >= {minimum}, got {value}")
        return value

    def float(self, name: builtins.str, default: float, minimum: float = 0.0) -> float:
        raw = self.str(name, str(default))
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name}: expected a finite number, got {raw!r}")
        if value <= minimum:
            raise ConfigError(f"{name}: must be > {minimum}, got {value}")
        return value

    def bool(self, name: builtins.str, default: bool) -> bool:
        raw = self.str(name, "true" if default else "false").lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")

    def url(
        self, name: builtins.str, default: builtins.str | None, schemes: tuple[builtins.str, ...]
    ) -> builtins.str | None:
        value = self.optional(name) or default
        if value is None:
            return None
        parsed = urlparse(value)
        # unix:///path/to/redis.sock has a path and no host.
        located = parsed.path if parsed.scheme == "unix" else parsed.netloc
        if parsed.scheme not in schemes or not located:
            raise ConfigError(f"{name}: expected a {'/'.join(schemes)} URL, got {value!r}")
        return value.rstrip("/")

    def list(self, name: builtins.str, default: builtins.str) -> tuple[builtins.str, ...]:
        return tuple(part.strip() for part in self.str(name, default).split(",") if part.strip())

    def oidc_issuers(self, name: builtins.str) -> tuple[OidcIssuer, ...]:
        raw = self.str(name, "[]")
        try:
            entries = json.loads(raw)
            issuers = tuple(
                OidcIssuer(issuer=e["issuer"], audience=e["audience"], jwks_url=e["jwks_url"]) for e in entries
            )
        except (ValueError, TypeError, KeyError):
            raise ConfigError(
                f'{name}: expected a JSON list of {{"issuer", "audience", "jwks_url"}} objects, got {raw!r}'
            ) from None
        for issuer in issuers:
            if not issuer.jwks_url.startswith(("https://", "http://")):
                raise ConfigError(f"{name}: jwks_url of {issuer.issuer} is not an http(s) URL")
        return issuers


@dataclass(frozen=True)
class OidcIssuer:
    """An external identity provider whose ID tokens we accept (Google, for one)."""

    issuer: str
    audience: str
    jwks_url: str


@dataclass(frozen=True)
class Settings:
    app_name: str
    stage: str
    aws_region: str
    # None means "the real AWS endpoints"; the local cloud and LocalStack set it.
    aws_endpoint_url: str | None
    resource_prefix: str
    opensearch_url: str
    opensearch_sigv4: bool
    redis_url: str
    redis_required: bool
    health_timeout_s: float
    max_body_bytes: int
    cors_allow_origins: tuple[str, ...]
    log_level: str
    public_base_url: str
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_s: int
    refresh_token_ttl_s: int
    jwt_keys_secret_id: str
    oidc_issuers: tuple[OidcIssuer, ...]
    argon2_time_cost: int
    argon2_memory_kib: int
    login_throttle_limit: int
    login_throttle_window_s: int
    password_reset_ttl_s: int
    mail_from: str
    # Stream ARNs by table key; Chalice needs them when app.py is imported (see
    # docs/local-cloud.md, "the stream ARN trap").
    stream_arns: Mapping[str, str] = field(default_factory=dict)
    # Scheduled tasks and observability (chalicelib/tasks, chalicelib/observability, chalicelib/webhooks.py).
    tasks_max_attempts: int = 3
    tasks_retry_backoff_s: int = 30
    tasks_time_limit_s: int = 60
    webhook_allow_private: bool = False
    logs_retention_days: int = 14
    logs_ship_requests: bool = False
    # Abuse limits (docs/identity.md, docs/orders.md, docs/observability.md).
    password_reset_per_email: int = 3
    password_reset_per_client: int = 20
    password_reset_window_s: int = 900
    email_change_ttl_s: int = 86400
    order_payment_window_s: int = 1800
    orders_max_unpaid_per_user: int = 5
    alerts_max_rules_per_user: int = 20
    alerts_max_mails_per_recipient_hour: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        read = EnvReader(env)
        stage = read.choice("STAGE", "local", STAGES)
        prefix = read.str("RESOURCE_PREFIX", f"sp-{stage}")
        public_base_url = read.url("PUBLIC_BASE_URL", "http://localhost:8000", ("http", "https")) or ""
        return cls(
            app_name=read.str("APP_NAME", "serverless-platform"),
            stage=stage,
            aws_region=read.str("AWS_REGION", read.str("AWS_DEFAULT_REGION", "us-east-1")),
            aws_endpoint_url=read.url("AWS_ENDPOINT_URL", None, ("http", "https")),
            resource_prefix=prefix,
            opensearch_url=read.url("OPENSEARCH_URL", "http://127.0.0.1:9200", ("http", "https")) or "",
            opensearch_sigv4=read.bool("OPENSEARCH_SIGV4", False),
            redis_url=read.url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix")) or "",
            redis_required=read.bool("REDIS_REQUIRED", False),
            health_timeout_s=read.float("HEALTH_TIMEOUT_S", 2.0),
            max_body_bytes=read.int("MAX_BODY_BYTES", 1_048_576, minimum=1),
            cors_allow_origins=read.list("CORS_ALLOW_ORIGINS", "*"),
            log_level=read.choice("LOG_LEVEL", "INFO", LOG_LEVELS),
            public_base_url=public_base_url,
            jwt_issuer=read.str("JWT_ISSUER", public_base_url),
            jwt_audience=read.str("JWT_AUDIENCE", "serverless-platform"),
            access_token_ttl_s=read.int("ACCESS_TOKEN_TTL_S", 900, minimum=30),
            refresh_token_ttl_s=read.int("REFRESH_TOKEN_TTL_S", 7 * 24 * 3600, minimum=60),
            jwt_keys_secret_id=read.str("JWT_KEYS_SECRET_ID", f"{prefix}-jwt-signing-keys"),
            oidc_issuers=read.oidc_issuers("OIDC_ISSUERS"),
            argon2_time_cost=read.int("ARGON2_TIME_COST", 3, minimum=1),
            argon2_memory_kib=read.int("ARGON2_MEMORY_KIB", 65536, minimum=16),
            login_throttle_limit=read.int("LOGIN_THROTTLE_LIMIT", 5, minimum=1),
            login_throttle_window_s=read.int("LOGIN_THROTTLE_WINDOW_S", 300, minimum=1),
            password_reset_ttl_s=read.int("PASSWORD_RESET_TTL_S", 1800, minimum=60),
            mail_from=read.str("MAIL_FROM", "no-reply@serverless-platform.local"),
            tasks_max_attempts=read.int("TASKS_MAX_ATTEMPTS", 3, minimum=1),
            tasks_retry_backoff_s=read.int("TASKS_RETRY_BACKOFF_S", 30, minimum=1),
            tasks_time_limit_s=read.int("TASKS_TIME_LIMIT_S", 60, minimum=1),
            webhook_allow_private=read.bool("WEBHOOK_ALLOW_PRIVATE", False),
            logs_retention_days=read.int("LOGS_RETENTION_DAYS", 14, minimum=1),
            logs_ship_requests=read.bool("LOGS_SHIP_REQUESTS", False),
            password_reset_per_email=read.int("PASSWORD_RESET_PER_EMAIL", 3, minimum=1),
            password_reset_per_client=read.int("PASSWORD_RESET_PER_CLIENT", 20, minimum=1),
            password_reset_window_s=read.int("PASSWORD_RESET_WINDOW_S", 900, minimum=1),
            email_change_ttl_s=read.int("EMAIL_CHANGE_TTL_S", 86400, minimum=60),
            order_payment_window_s=read.int("ORDER_PAYMENT_WINDOW_S", 1800, minimum=1),
            orders_max_unpaid_per_user=read.int("ORDERS_MAX_UNPAID_PER_USER", 5, minimum=1),
            alerts_max_rules_per_user=read.int("ALERTS_MAX_RULES_PER_USER", 20, minimum=1),
            alerts_max_mails_per_recipient_hour=read.int("ALERTS_MAX_MAILS_PER_RECIPIENT_HOUR", 10, minimum=1),
            stream_arns={
                key[len("STREAM_ARN_") :].lower(): value
                for key, value in env.items()
                if key.startswith("STREAM_ARN_") and value
            },
        )

    def resource_name(self, key: str) -> str:
        """The deployed name of a table, queue or index declared under `key`."""
        return f"{self.resource_prefix}-{key}"


@functools.cache
def get_settings() -> Settings:
    return Settings.from_env()
