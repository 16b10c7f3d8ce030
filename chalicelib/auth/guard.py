"""The one place that decides who the caller is. Every route declared with `auth=` passes here
(the application mounts each blueprint with `authenticate`; chalicelib/http/routing.py then
checks the caller against the route's declaration).

Credentials, in order: `X-API-Key: <key>` or `Authorization: Api-Key <key>`, then
`Authorization: Bearer <jwt>` (our access token or an external OIDC ID token).
"""

from __future__ import annotations

from typing import Any

from chalicelib.auth.container import identity
from chalicelib.errors import Unauthenticated
from chalicelib.principal import Principal


def client_of(request: Any) -> str:
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"


def authenticate(request: Any) -> Principal:
    headers = request.headers
    authorization = headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    api_key = headers.get("x-api-key") or (credential.strip() if scheme.lower() == "api-key" else "")
    if api_key:
        return identity().service.authenticate_api_key(api_key, client_of(request))
    if scheme.lower() == "bearer" and credential.strip():
        return identity().service.authenticate_bearer(credential.strip())
    raise Unauthenticated("Send Authorization: Bearer <token>, or an API key in X-API-Key")
