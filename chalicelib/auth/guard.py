"""The one place that decides who the caller is. Every route declared with `auth=` passes here.

Credentials, in order: `X-API-Key: <key>` or `Authorization: Api-Key <key>`, then
`Authorization: Bearer <jwt>` (our access token or an external OIDC ID token).
"""

from __future__ import annotations

import contextvars
from typing import Any

from chalicelib.auth.container import identity_service
from chalicelib.auth.principal import Principal, bind, unbind
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.http.routing import RouteMeta


def client_of(request: Any) -> str:
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"


def caller(request: Any) -> Principal:
    headers = request.headers
    authorization = headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    api_key = headers.get("x-api-key") or (credential.strip() if scheme.lower() == "api-key" else "")
    if api_key:
        return identity_service().authenticate_api_key(api_key, client_of(request))
    if scheme.lower() == "bearer" and credential.strip():
        return identity_service().authenticate_bearer(credential.strip())
    raise Unauthenticated("Send Authorization: Bearer <token>, or an API key in X-API-Key")


def authorize(principal: Principal, meta: RouteMeta) -> None:
    if principal.via == "api_key" and not meta.api_keys:
        raise Forbidden("This route needs a person's token; API keys cannot call it")
    if meta.auth == "admin" and not principal.is_admin:
        raise Forbidden("Administrators only")
    if not principal.allows(meta.scope):
        raise Forbidden(f"The API key lacks the {meta.scope} scope")


def bind_caller(request: Any, meta: RouteMeta) -> contextvars.Token:
    principal = caller(request)
    authorize(principal, meta)
    return bind(principal)


def unbind_caller(token: contextvars.Token) -> None:
    unbind(token)
