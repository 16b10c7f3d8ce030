"""Identity's resources: users, uniqueness claims, refresh-token families, API keys and
password-reset tokens in one table (pk/sk), API keys listed per owner through gsi1. Its stream
is identity's outbox (chalicelib/auth/handlers.py)."""

from chalicelib.resources import Index, Key, QueueSpec, SecretSpec, TableSpec, declare

IDENTITY_TABLE = TableSpec(
    key="identity",
    hash_key=Key("pk"),
    range_key=Key("sk"),
    indexes=(Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),),
    stream=True,
    ttl_attribute="expires_at",
    stream_failure_queue="identity-stream-failures",
)
# Password-reset requests: the route only enqueues, so its answer takes the same time whether
# or not the address has an account; the consumer looks it up and mails the link.
IDENTITY_MAIL_QUEUE = "identity-mail"

declare(
    IDENTITY_TABLE,
    QueueSpec(key="identity-stream-failures", dead_letter=False),
    QueueSpec(key=IDENTITY_MAIL_QUEUE),
    SecretSpec(key="jwt-signing-keys", generator="chalicelib.auth.keys:new_keyring_secret"),
)
