"""For the command-line tools that work on a running local cloud (`make ingest`, `make seed`,
`make events`): point this process's settings at the stack's services, and wire the contexts."""

from __future__ import annotations

import os
import sys

from devstack.admin import stack_endpoints


def connect(port: str | None = None) -> bool:
    """Aim clients at the stack answering on `port` (PORT, default 8000); False, with a hint on
    stderr, if none answers."""
    port = port or os.environ.get("PORT", "8000")
    try:
        endpoints = stack_endpoints(port)
    except OSError:
        print(f"No local cloud answers on port {port}: start it with `make run` first.", file=sys.stderr)
        return False
    os.environ.update(
        AWS_ENDPOINT_URL=endpoints["aws"],
        OPENSEARCH_URL=endpoints["opensearch"],
        REDIS_URL=endpoints["redis"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    from chalicelib import composition

    composition.wire()
    return True
