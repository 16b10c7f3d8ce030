"""The vocabulary shared by the documents modules: type names and ETags.

Kept free of storage imports so the routes and the stream handler load without PynamoDB
(and botocore) until a request or record needs them: cold start stays small.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

SCHEMA_TYPE = "$schema"
BUILTIN_TYPES = ("plan", "service")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
MERGE_PATCH = "application/merge-patch+json"


def canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def etag_of(body: str) -> str:
    """A strong ETag: the hash of the canonical JSON, so equal documents have equal tags."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
