"""Sending email through SES (moto's SES locally; `make outbox` shows what was sent), and how
addresses compare.

An address is matched by its key wherever one is looked up: an account's (chalicelib/auth), an
alert recipient's and its hourly mail cap (chalicelib/observability).
"""

from __future__ import annotations

import unicodedata

from chalicelib import clients
from chalicelib.config import get_settings


def send_email(to: str, subject: str, text: str) -> str:
    """Send a plain-text email; the SES message id."""
    settings = get_settings()
    response = clients.aws("ses").send_email(
        Source=settings.mail_from,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
        },
    )
    message_id: str = response["MessageId"]
    return message_id


def email_key(address: str) -> str:
    """What must be unique among email addresses: NFKC-normalised and case-folded."""
    return unicodedata.normalize("NFKC", address).casefold()
