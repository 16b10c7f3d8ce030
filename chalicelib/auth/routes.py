"""Identity routes. The seeds' paths (/api/users/..., /api/auth/...) are aliases of the v1 ones."""

from __future__ import annotations

import html

from chalice import Response

from chalicelib import schemas
from chalicelib.auth.container import identity
from chalicelib.auth.guard import client_of
from chalicelib.errors import DomainError, ValidationFailed
from chalicelib.http import forms, pages
from chalicelib.http.errors import problem_for
from chalicelib.http.forms import FORM_TYPES
from chalicelib.http.requests import route_body
from chalicelib.http.routing import ApiBlueprint, QueryParam, json_response
from chalicelib.principal import current_principal

api = ApiBlueprint(__name__)
TAGS = ("identity",)
NO_STORE = {"Cache-Control": "no-store"}
PROFILE_EMAIL_HELP = (
    "Names change at once. A new `email` needs `current_password` and is only pending (`pending_email`) until "
    "the link mailed to it is opened; the old address is told, and stays the account's until then. API keys "
    "cannot change the email, whatever their scopes."
)


@api.route(
    "/api/v1/users/register",
    ("POST",),
    summary="Register",
    description="Creates an account with the `user` role and publishes `user.registered`.",
    tags=TAGS,
    aliases=("/api/users/register",),
    request_schema="register",
    responses={201: "The new profile", 409: "The username or email is taken"},
)
def register() -> Response:
    profile = identity().service.register(route_body(api.current_request))
    return json_response(profile, status=201, headers={"Location": "/api/v1/users/profile"})


@api.route(
    "/api/v1/auth/token",
    ("POST",),
    summary="Log in",
    description="Username (or email) and password → an RS256 access token and a single-use refresh token. "
    "Repeated failures from one client for one account are throttled (429 with Retry-After).",
    tags=TAGS,
    aliases=("/api/auth/login", "/api/users/token"),
    request_schema="login",
    responses={200: "Tokens", 401: "Wrong username or password", 429: "Too many failed attempts"},
)
def login() -> Response:
    data = route_body(api.current_request)
    identifier = data.get("username") or data["email"]
    tokens = identity().service.login(identifier, data["password"], client_of(api.current_request))
    return json_response(tokens, headers=NO_STORE)


@api.route(
    "/api/v1/auth/token/refresh",
    ("POST",),
    summary="Refresh tokens",
    description="Spends the refresh token and returns a new access **and** refresh token. Presenting a spent "
    "refresh token again revokes its whole session (reuse detection).",
    tags=TAGS,
    aliases=("/api/auth/refresh",),
    request_schema="token-refresh",
    responses={200: "New tokens", 401: "The refresh token is invalid, expired, spent or revoked"},
)
def refresh() -> Response:
    return json_response(identity().service.refresh(route_body(api.current_request)["refresh"]), headers=NO_STORE)


@api.route(
    "/api/v1/auth/logout",
    ("POST",),
    summary="Log out",
    description="Ends the caller's session: its refresh tokens and its access tokens stop working at once.",
    tags=TAGS,
    auth="user",
    api_keys=False,
    responses={204: "Logged out"},
    produces=None,
)
def logout() -> Response:
    identity().service.logout(current_principal())
    return Response(body="", status_code=204)


@api.route(
    "/.well-known/jwks.json",
    summary="Signing keys",
    description="The public keys that verify this API's access tokens (RS256, by kid).",
    tags=TAGS,
)
def jwks() -> Response:
    return json_response(identity().service.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


@api.route(
    "/api/v1/users/profile",
    summary="My profile",
    tags=TAGS,
    aliases=("/api/users/profile",),
    auth="user",
    scope="profile:read",
)
def profile() -> Response:
    return json_response(identity().service.profile(current_principal()))


@api.route(
    "/api/v1/users/profile",
    ("PUT",),
    summary="Replace my profile",
    tags=TAGS,
    aliases=("/api/users/profile",),
    auth="user",
    scope="profile:write",
    request_schema="profile-replace",
    description=PROFILE_EMAIL_HELP,
    responses={200: "The profile", 403: "An API key tried to change the email", 409: "The email is taken"},
)
def replace_profile() -> Response:
    return json_response(identity().service.update_profile(current_principal(), route_body(api.current_request)))


@api.route(
    "/api/v1/users/profile",
    ("PATCH",),
    summary="Update my profile",
    tags=TAGS,
    aliases=("/api/users/profile",),
    auth="user",
    scope="profile:write",
    request_schema="profile-update",
    content_types=("application/json", "application/merge-patch+json"),
    description=PROFILE_EMAIL_HELP,
    responses={200: "The profile", 403: "An API key tried to change the email", 409: "The email is taken"},
)
def update_profile() -> Response:
    return json_response(identity().service.update_profile(current_principal(), route_body(api.current_request)))


@api.route(
    "/api/v1/users/change-password",
    ("POST",),
    summary="Change my password",
    description="Needs the current password. Every access and refresh token of the account stops working at "
    "once (log in again); API keys keep working.",
    tags=TAGS,
    aliases=("/api/users/change-password",),
    auth="user",
    api_keys=False,
    request_schema="change-password",
    responses={204: "Changed"},
    produces=None,
)
def change_password() -> Response:
    identity().service.change_password(current_principal(), route_body(api.current_request))
    return Response(body="", status_code=204)


@api.route(
    "/api/v1/users/password-reset",
    ("POST",),
    summary="Request a password reset",
    description="Always 202, whether or not the address has an account, in the same time (the request is queued). "
    "If it has, an email with a single-use link valid 30 minutes is sent; a newer link voids the older ones. "
    "Throttled per address and per client (429 with Retry-After).",
    tags=TAGS,
    aliases=("/api/users/password_reset/request",),
    request_schema="password-reset",
    responses={202: "Accepted", 429: "Too many reset requests for this address or from this client"},
)
def request_password_reset() -> Response:
    identity().service.request_password_reset(route_body(api.current_request)["email"], client_of(api.current_request))
    return json_response({"detail": "If the address has an account, a reset link is on its way."}, status=202)


@api.route(
    "/api/v1/users/password-reset/confirm",
    ("POST",),
    summary="Set a new password with a reset token",
    description="Every access and refresh token of the account stops working, and its API keys are deleted: a "
    "reset is how an owner takes an account back.",
    tags=TAGS,
    request_schema="password-reset-confirm",
    responses={204: "Password changed"},
    produces=None,
)
def confirm_password_reset() -> Response:
    data = route_body(api.current_request)
    identity().service.confirm_password_reset(data["token"], data["new_password"])
    return Response(body="", status_code=204)


EMAIL_CONFIRM = "/api/v1/users/email/confirm"


@api.route(
    EMAIL_CONFIRM,
    ("POST",),
    summary="Confirm a new email address",
    description="The token from the link mailed to the new address, as JSON or as the confirmation page's form. "
    "The address becomes the account's; reset links sent to the old one stop working.",
    tags=TAGS,
    content_types=("application/json", pages.FORM_TYPE),
    responses={200: "The profile (JSON), or a page for the form", 400: "The link is invalid, replaced or expired"},
)
def confirm_email() -> Response:
    return pages.confirmation(
        api.current_request,
        CONFIRM_TITLE,
        identity().service.confirm_email_change,
        lambda profile: f"Your account's email is now {profile['email']}.",
    )


@api.route(
    EMAIL_CONFIRM,
    summary="Email confirmation page",
    description="The page the emailed link opens: one button that posts the token back (a link alone changes "
    "nothing, so a mail scanner that follows it confirms nothing).",
    tags=TAGS,
    produces="text/html",
    query=(),
)
def email_confirm_page() -> Response:
    token = (api.current_request.query_params or {}).get("token", "")
    return pages.confirm_form(CONFIRM_TITLE, token, "Use this address for my account")


CONFIRM_TITLE = "Confirm your email address"
RESET_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
# Plain HTML forms posting back to the page's own address: they work without JavaScript and
# load nothing, so the strict CSP above holds.
RESET_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
input{{display:block;width:100%;margin:.3rem 0 1rem;padding:.4rem}}.error{{color:#a00}}.ok{{color:#070}}</style>
</head><body><h1>{title}</h1>{message}{form}</body></html>
"""
EMAIL_FORM = """<form method="post">
<label>Email<input type="email" name="email" autocomplete="email" maxlength="254" required></label>
<button type="submit">Send me a reset link</button></form>"""
TOKEN_FORM = """<form method="post"><input type="hidden" name="token" value="{token}">
<label>New password<input type="password" name="new_password" minlength="10" autocomplete="new-password" required>
</label><button type="submit">Set password</button></form>"""
SENT = "If the address has an account, a link to choose a new password is on its way. It works once."


def _reset_page(token: str | None, message: str = "", status: int = 200) -> Response:
    """The token form when a token is known (the mailed link), else the email form."""
    if token is None:
        title, form = "Reset your password", EMAIL_FORM
    else:
        title, form = "Choose a new password", TOKEN_FORM.format(token=html.escape(token, quote=True))
    return Response(
        body=RESET_PAGE.format(title=title, message=message, form=form),
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": RESET_PAGE_CSP, **NO_STORE},
    )


def _paragraphs(css_class: str, *texts: str) -> str:
    return "".join(f'<p class="{css_class}">{html.escape(text)}</p>' for text in texts)


@api.route(
    "/api/users/password_reset",
    summary="Password reset page",
    description="Without a token: a form asking for the account's email. With the emailed link's `token`: a form "
    "for the new password. Both post back to this address and work without JavaScript.",
    tags=TAGS,
    produces="text/html",
    query=(QueryParam("token", {"type": "string"}, "The token of the emailed link"),),
)
def password_reset_page() -> Response:
    return _reset_page((api.current_request.query_params or {}).get("token"))


@api.route(
    "/api/users/password_reset",
    ("POST",),
    summary="Password reset form submission",
    description="`email`: mails a reset link if the address has an account, and answers the same page either way. "
    "`token` and `new_password`: sets the new password.",
    tags=TAGS,
    content_types=FORM_TYPES,
    produces="text/html",
    responses={200: "Link sent, or password changed (an HTML page)", 400: "Refused (an HTML page saying why)"},
)
def password_reset_submit() -> Response:
    request = api.current_request
    fields = {name: values[-1] for name, values in forms.fields(request.headers, request.raw_body or b"").items()}
    if "token" not in fields:
        email = fields.get("email", "").strip()
        if schemas.field_errors("password-reset", {"email": email}):
            return _reset_page(None, _paragraphs("error", "Enter the email address of your account."), status=400)
        try:
            identity().service.request_password_reset(email, client_of(request))
        except DomainError as exc:
            return _reset_page(None, _paragraphs("error", exc.detail), status=problem_for(exc).status_code)
        return _reset_page(None, _paragraphs("ok", SENT))
    token = fields["token"]
    try:
        identity().service.confirm_password_reset(token, fields.get("new_password", ""))
    except ValidationFailed as exc:
        # A dead link (used, expired, unknown) gets the email form, to ask for a new one.
        dead = any(e.path == "$.token" for e in exc.errors)
        return _reset_page(None if dead else token, _paragraphs("error", *(e.message for e in exc.errors)), 400)
    except DomainError as exc:
        return _reset_page(None, _paragraphs("error", exc.detail), status=400)
    return _reset_page(None, _paragraphs("ok", "Your password is changed. You can log in now."))


@api.route(
    "/api/v1/api-keys",
    summary="My API keys",
    description="Name, prefix, scopes and dates of each key; never the secret.",
    tags=TAGS,
    auth="user",
    api_keys=False,
)
def list_api_keys() -> Response:
    keys = identity().service.api_keys(current_principal())
    return json_response({"items": keys, "count": len(keys), "next": None})


@api.route(
    "/api/v1/api-keys",
    ("POST",),
    summary="Create an API key",
    description="The secret (`key`) is in this response only; it is stored as a hash. Send it as "
    "`X-API-Key: <key>` or `Authorization: Api-Key <key>`.",
    tags=TAGS,
    auth="user",
    api_keys=False,
    request_schema="api-key-create",
    responses={201: "The key, with its secret shown once"},
)
def create_api_key() -> Response:
    key = identity().service.create_api_key(current_principal(), route_body(api.current_request))
    return json_response(key, status=201, headers={**NO_STORE, "Location": f"/api/v1/api-keys/{key['id']}"})


@api.route(
    "/api/v1/api-keys",
    ("DELETE",),
    summary="Revoke all my API keys",
    tags=TAGS,
    auth="user",
    api_keys=False,
    responses={200: "How many keys were deleted"},
)
def delete_all_api_keys() -> Response:
    return json_response({"deleted": identity().service.delete_all_api_keys(current_principal())})


@api.route(
    "/api/v1/api-keys/{key_id}/regenerate",
    ("POST",),
    summary="Regenerate an API key",
    description="A new secret for the same key; the old secret stops working at once.",
    tags=TAGS,
    auth="user",
    api_keys=False,
    responses={200: "The key, with its new secret shown once"},
)
def regenerate_api_key(key_id: str) -> Response:
    return json_response(identity().service.regenerate_api_key(current_principal(), key_id), headers=NO_STORE)


@api.route(
    "/api/v1/api-keys/{key_id}",
    ("DELETE",),
    summary="Delete an API key",
    tags=TAGS,
    auth="user",
    api_keys=False,
    responses={204: "Deleted"},
    produces=None,
)
def delete_api_key(key_id: str) -> Response:
    identity().service.delete_api_key(current_principal(), key_id)
    return Response(body="", status_code=204)
