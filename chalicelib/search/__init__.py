"""OpenSearch plumbing shared by the contexts that index: versioned indexes behind aliases."""

from __future__ import annotations

from typing import Any

from chalicelib import clients
from chalicelib.config import Settings, get_settings
from chalicelib.resources import SearchIndexSpec

# Amazon OpenSearch Service refuses request bodies over 10 MiB on its smaller instance types.
BULK_MAX_BYTES = 8 * 1024 * 1024


def alias(key: str, settings: Settings | None = None) -> str:
    return (settings or get_settings()).resource_name(key)


def ensure_index(spec: SearchIndexSpec, settings: Settings | None = None) -> dict[str, Any]:
    """A versioned index behind an alias, so a mapping change is a reindex plus an alias swap.
    Idempotent; a concurrent creator winning the race is fine."""
    from opensearchpy.exceptions import RequestError

    settings = settings or get_settings()
    client = clients.opensearch(settings)
    name = alias(spec.key, settings)
    index = f"{name}-v{spec.version}"
    if not client.indices.exists(index=index):
        body = {"mappings": spec.mappings, "settings": spec.settings, "aliases": {name: {}}}
        try:
            client.indices.create(index=index, body=body)
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
    return {"alias": name, "index": index}


def bulk(actions: list[dict[str, Any]], client: Any = None) -> list[dict[str, Any]]:
    """Apply one handler batch's actions and return the per-item errors (it raises only when
    OpenSearch cannot be reached). One request where the size allows: helpers.bulk would
    split at 500 actions, and a batch of 100 plans is 800."""
    from opensearchpy import helpers

    errors: list[dict[str, Any]]
    _, errors = helpers.bulk(
        client or clients.opensearch(),
        actions,
        raise_on_error=False,
        refresh=False,
        chunk_size=max(1, len(actions)),
        max_chunk_bytes=BULK_MAX_BYTES,
    )
    return errors


# A multi-term query (fuzzy, wildcard, prefix, regexp) matches the terms it expands to. By
# default a fuzzy one keeps only the 50 likeliest terms *of the whole index*, so other tenants'
# terms could crowd out yours. Constant-score rewriting keeps every matching term: what matches
# depends on your documents alone. Every query over owned data passes these.
EXHAUSTIVE_REWRITE = {"rewrite": "constant_score", "fuzzy_rewrite": "constant_score"}
