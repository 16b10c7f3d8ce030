"""For the command-line tools (`make outbox`, `make seed`, `make invoke`...): ask the local cloud
answering on PORT (default 8000) through its control surface.

Plain HTTP first, then TLS for a stack started with HTTPS=1. Its certificate is self-signed
and the address is loopback, so it is not verified.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from typing import Any

_LOOPBACK_TLS = ssl.create_default_context()
_LOOPBACK_TLS.check_hostname = False
_LOOPBACK_TLS.verify_mode = ssl.CERT_NONE


def control(path: str = "", port: str | None = None, timeout_s: float = 5.0) -> dict[str, Any]:
    """GET /_devstack<path> of the running stack; OSError if none answers."""
    port = port or os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_devstack{path}", timeout=timeout_s) as response:
            return json.load(response)
    except ConnectionResetError:
        # A TLS server hangs up on a plain HTTP request.
        url = f"https://127.0.0.1:{port}/_devstack{path}"
        with urllib.request.urlopen(url, timeout=timeout_s, context=_LOOPBACK_TLS) as response:
            return json.load(response)
