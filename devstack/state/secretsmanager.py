"""The embedded Secrets Manager's durable state: every secret with all its versions.

Secrets change rarely (the bootstrap's first values, a key rotation), so after any request
that may change one, every secret of the region is recorded whole. The ARN is kept as it
was (it ends in a random suffix that clients may hold).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from devstack.state.recorder import recorded_requests, whole_region

READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Validate")
KEPT = (
    "arn",
    "description",
    "tags",
    "kms_key_id",
    "created_date",
    "last_changed_date",
    "versions",
    "default_version_id",
    "deleted_date",
    "policy",
    "rotation_enabled",
    "rotation_lambda_arn",
    "auto_rotate_after_days",
)


def _backends() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[DEFAULT_ACCOUNT_ID]


def _record(region: str) -> dict[str, Any]:
    from moto.secretsmanager.models import FakeSecret

    secrets = [s for s in dict.values(_backends()[region].secrets) if isinstance(s, FakeSecret)]
    kept = [{"name": s.name, **copy.deepcopy({field: getattr(s, field) for field in KEPT})} for s in secrets]
    return {"k": "secrets", "r": region, "secrets": kept}


def install() -> None:
    from moto.secretsmanager.responses import SecretsManagerResponse

    recorded_requests(
        SecretsManagerResponse, lambda action: not action.startswith(READ_PREFIXES), whole_region(_record)
    )


def export() -> Iterator[dict[str, Any]]:
    for region, backend in list(_backends().items()):
        if dict.__len__(backend.secrets):
            yield _record(region)


class Restorer:
    kinds = ("secrets",)

    def apply(self, record: dict[str, Any]) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.secretsmanager.models import FakeSecret, SecretsStore

        backend = _backends()[record["r"]]
        backend.secrets = SecretsStore()
        for kept in record["secrets"]:
            secret = FakeSecret(DEFAULT_ACCOUNT_ID, record["r"], kept["name"], secret_version={}, version_id="")
            for field in KEPT:
                setattr(secret, field, copy.deepcopy(kept[field]))
            backend.secrets[secret.name] = secret

    def finish(self) -> None:
        pass
