"""The small HTML pages a link in an email opens: one button that posts the link's token back.

Opening the link changes nothing (a mail scanner that follows it confirms nothing); the page
loads nothing and may post only to itself."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib import schemas
from chalicelib.errors import DomainError
from chalicelib.http import forms
from chalicelib.http.requests import parse_json
from chalicelib.http.routing import json_response

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
.error{{color:#a00}}.ok{{color:#070}}</style>
</head><body><h1>{title}</h1>{body}</body></html>
"""
FORM = """<form method="post"><input type="hidden" name="token" value="{token}">
<button type="submit">{button}</button></form>"""
FORM_TYPE = forms.FORM


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(
        body=PAGE.format(title=html.escape(title), body=body),
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-store",
        },
    )


def confirm_form(title: str, token: str, button: str) -> Response:
    """The page of an emailed link: the token, and one button that posts it back."""
    return page(title, FORM.format(token=html.escape(token, quote=True), button=html.escape(button)))


def outcome(title: str, message: str, ok: bool) -> Response:
    css = "ok" if ok else "error"
    return page(title, f'<p class="{css}">{html.escape(message)}</p>', 200 if ok else 400)


def confirmation(
    request: Any,
    title: str,
    confirm: Callable[[str], dict[str, Any]],
    confirmed: Callable[[dict[str, Any]], str],
) -> Response:
    """A confirmation link's POST: the page's form is answered with a page saying what happened
    (`confirmed` of what `confirm` returned, or why it refused); a client posting the token as
    JSON gets `confirm`'s answer as JSON, and its refusals as problems."""
    if forms.is_form(request.headers):
        try:
            result = confirm(_form_token(request))
        except DomainError as exc:
            return outcome(title, exc.detail, ok=False)
        return outcome(title, confirmed(result), ok=True)
    return json_response(confirm(_json_token(request)))


def _form_token(request: Any) -> str:
    """The token a page's form posted back (a form or multipart body)."""
    return (forms.fields(request.headers, request.raw_body or b"").get("token") or [""])[-1]


def _json_token(request: Any) -> str:
    """The token of a confirmation a client posts as JSON instead of the page's form."""
    body = parse_json(request.raw_body)
    schemas.validate("email-confirm", body)
    return str(body["token"])
