"""What differs between deployed stages: names, addresses and how much capacity to pay for.

Values come from CDK context (`-c stage=prod -c mailFrom=...`), so one synthesis describes one
stage. Sizes are chosen per stage here rather than in .chalice/config.json because they are
infrastructure, not application, settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings

# Serverless cache engines and the major version deployed for each.
CACHE_ENGINES = {"redis": "7", "valkey": "8"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Profile:
    """Capacity of one stage. dev is the cheapest thing that runs; prod survives losing an AZ."""

    search_instance_type: str
    search_data_nodes: int
    search_master_nodes: int
    search_master_instance_type: str | None
    search_volume_gib: int
    search_availability_zones: int
    nat_gateways: int
    cache_max_data_gib: int
    cache_max_ecpu_per_second: int
    retain_data: bool


PROFILES: dict[str, Profile] = {
    "dev": Profile(
        search_instance_type="t3.small.search",
        search_data_nodes=1,
        search_master_nodes=0,
        search_master_instance_type=None,
        search_volume_gib=10,
        search_availability_zones=1,
        nat_gateways=1,
        cache_max_data_gib=1,
        cache_max_ecpu_per_second=5000,
        retain_data=False,
    ),
    "prod": Profile(
        search_instance_type="r6g.large.search",
        search_data_nodes=2,
        search_master_nodes=3,
        search_master_instance_type="m6g.large.search",
        search_volume_gib=50,
        search_availability_zones=2,
        nat_gateways=2,
        cache_max_data_gib=10,
        cache_max_ecpu_per_second=50000,
        retain_data=True,
    ),
}


@dataclass(frozen=True)
class StageOptions:
    stage: str
    resource_prefix: str
    public_base_url: str
    mail_from: str
    alarm_email: str | None
    # Synthesize without building the Lambda dependencies (offline); the template is then
    # marked undeployable. See infrastructure/packaging.py.
    template_only: bool
    # Extra modules whose declare(...) calls add resources, as DEVSTACK_DECLARATIONS does.
    declarations: tuple[str, ...] = ()
    # Another Chalice project to deploy with the platform's resources (the tests use a probe app).
    project_dir: str | None = None
    # ElastiCache Serverless engine: "redis" (Redis OSS) or "valkey" (same protocol, lower
    # minimum charge; see docs/deploy.md, cost notes).
    cache_engine: str = "redis"

    @property
    def profile(self) -> Profile:
        return PROFILES[self.stage]

    def settings(self) -> Settings:
        """The application's settings as the deployed functions will read them."""
        return Settings.from_env(
            {
                "STAGE": self.stage,
                "RESOURCE_PREFIX": self.resource_prefix,
                "PUBLIC_BASE_URL": self.public_base_url,
                "MAIL_FROM": self.mail_from,
            }
        )

    @classmethod
    def from_context(cls, context: Callable[[str], Any]) -> StageOptions:
        """Read `-c key=value` context; `context` is `node.try_get_context`."""

        def text(key: str, default: str | None = None) -> str | None:
            value = context(key)
            return default if value in (None, "") else str(value)

        stage = text("stage", "dev") or "dev"
        if stage not in PROFILES:
            raise ValueError(f"context stage: expected one of {', '.join(PROFILES)}, got {stage!r}")
        prefix = text("resourcePrefix", f"sp-{stage}") or f"sp-{stage}"
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,20}", prefix):
            # OpenSearch domain and ElastiCache names are short and lower-case only.
            raise ValueError(f"context resourcePrefix: lower-case letters, digits and '-', 2-21 chars, got {prefix!r}")
        # Without a custom domain the API's URL exists only after the first deploy (and a
        # function cannot reference its own API without a cycle): see docs/deploy.md.
        public_base_url = text("publicBaseUrl", f"https://api.{stage}.example.invalid") or ""
        mail_from = text("mailFrom", "no-reply@example.invalid") or ""
        if not _EMAIL.match(mail_from):
            raise ValueError(f"context mailFrom: expected an email address, got {mail_from!r}")
        alarm_email = text("alarmEmail")
        template_only = (text("templateOnly", "false") or "false").lower() in ("1", "true", "yes")
        cache_engine = text("cacheEngine", "redis") or "redis"
        if cache_engine not in CACHE_ENGINES:
            raise ValueError(f"context cacheEngine: expected one of {', '.join(CACHE_ENGINES)}, got {cache_engine!r}")
        declarations = tuple(part.strip() for part in (text("declarations", "") or "").split(",") if part.strip())
        return cls(
            stage=stage,
            resource_prefix=prefix,
            public_base_url=public_base_url,
            mail_from=mail_from,
            alarm_email=alarm_email,
            template_only=template_only,
            declarations=declarations,
            project_dir=text("projectDir"),
            cache_engine=cache_engine,
        )
