"""Usernames and email addresses as identifiers: one canonical form each, so that two accounts
can never be told apart only by case, width, a look-alike letter, a zero-width character or a
trailing newline, and so that a username can never be mistaken for an email address.

- A username is NFKC-normalised (full-width `ａｌｉｃｅ` is `alice`) and must then be 3-150
  ASCII letters, digits and `_.+-`: no other script can slip a look-alike letter in (Cyrillic
  `а` beside Latin `a`), no space or invisible character survives, and without `@` no username
  looks like an email. It is unique case-folded. `oidc-…` is reserved for external identities.
- An email address is validated and normalised by email-validator (syntax only, no DNS): the
  domain lower-cased and IDNA-checked, unsafe and invisible characters refused. It is unique
  NFKC-normalised and case-folded (`email_key`, chalicelib/mail.py: every match of an address
  uses it).
"""

from __future__ import annotations

import re
import unicodedata

from chalicelib.errors import FieldError, ValidationFailed
from chalicelib.mail import email_key as email_key  # one of the identifier rules, kept in mail

USERNAME = re.compile(r"[A-Za-z0-9_.+-]{3,150}")
# External identities get usernames of this form (chalicelib/auth/service.py); nobody may
# register one first and lock that identity out.
RESERVED_USERNAME_PREFIX = "oidc-"


def _refused(path: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(path, message)])


def username(raw: str, path: str = "$.username") -> str:
    """The username as stored (NFKC); ValidationFailed naming `path` when it cannot be one."""
    name = unicodedata.normalize("NFKC", raw)
    if "@" in name:
        raise _refused(path, "A username cannot contain @ (it would look like an email address)")
    if not USERNAME.fullmatch(name):
        raise _refused(path, "A username is 3-150 letters (A-Z), digits and _ . + -")
    if name.casefold().startswith(RESERVED_USERNAME_PREFIX):
        raise _refused(path, f"Usernames starting with {RESERVED_USERNAME_PREFIX!r} are reserved")
    return name


def username_key(name: str) -> str:
    """What must be unique among usernames (and what a login by username looks up)."""
    return unicodedata.normalize("NFKC", name).casefold()


def email(raw: str, path: str = "$.email") -> str:
    """The address as stored (email-validator's normalised form); ValidationFailed naming `path`."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _refused(path, str(exc)) from None


def login_claim(identifier: str) -> tuple[str, str] | None:
    """The claim a login identifier names: an email when it has an @ (no username has one),
    else a username; None when it can be neither."""
    if "@" in identifier:
        try:
            return "email", email_key(email(identifier))
        except ValidationFailed:
            return None
    return "username", username_key(identifier)
