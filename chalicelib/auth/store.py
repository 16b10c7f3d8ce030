"""The identity table (PynamoDB): users, uniqueness claims, refresh families and tokens,
API keys and password-reset tokens, one item type per key prefix.

Every state change that must not race is a conditional write: a username is claimed by a
put that fails if the claim exists; a refresh token is spent by an update conditioned on
`status = active`; a reset token is used the same way.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import condition_failed, failed_conditions, get_or_none, keyed_model, transaction_connection
from chalicelib.errors import Conflict

IdentityItem = keyed_model("identity")


class UserItem(IdentityItem):
    SK = "PROFILE"

    user_id = UnicodeAttribute()
    username = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute(default="")
    last_name = UnicodeAttribute(default="")
    password_hash = UnicodeAttribute(null=True)
    roles = ListAttribute(of=UnicodeAttribute, default=lambda: ["user"])
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # Refresh tokens issued before this moment are void (password change or reset).
    tokens_valid_after = NumberAttribute(default=0)
    # Access tokens carry the generation they were issued under; a password change or reset
    # increments it, voiding every earlier one (chalicelib/auth/revocation.py).
    token_generation = NumberAttribute(default=0)
    password_changed_at = NumberAttribute(null=True)
    # "change" or "reset": what the audit trail says about the last password change.
    password_changed_via = UnicodeAttribute(null=True)
    # An email change waiting for its confirmation link to be opened; the old email stays in force.
    pending_email = UnicodeAttribute(null=True)
    pending_email_hash = UnicodeAttribute(null=True)
    pending_email_expires_at = NumberAttribute(null=True)
    # The SHA-256 of the only reset link that still works: a newer link voids the older ones.
    reset_token_hash = UnicodeAttribute(null=True)
    # "<issuer> <sub>" for users created from an external OIDC token.
    external_identity = UnicodeAttribute(null=True)

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", UserItem.SK


class ClaimItem(IdentityItem):
    """Owns a unique value (a lower-cased username or email, an issuer+sub) for one user."""

    user_id = UnicodeAttribute()

    @staticmethod
    def key(kind: str, value: str) -> tuple[str, str]:
        return f"CLAIM#{kind}#{value}", "CLAIM"


class FamilyItem(IdentityItem):
    """A login session: every refresh token rotated from one login shares a family."""

    user_id = UnicodeAttribute()
    revoked = BooleanAttribute(default=False)
    expires_at = NumberAttribute()

    @staticmethod
    def key(family_id: str) -> tuple[str, str]:
        return f"FAMILY#{family_id}", "FAMILY"


class RefreshItem(IdentityItem):
    family_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    issued_at = NumberAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(token_id: str) -> tuple[str, str]:
        return f"REFRESH#{token_id}", "TOKEN"


class ByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ApiKeyItem(IdentityItem):
    key_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    scopes = ListAttribute(of=UnicodeAttribute)
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_owner = ByOwner()

    @staticmethod
    def key(key_id: str) -> tuple[str, str]:
        return f"APIKEY#{key_id}", "KEY"


class ResetItem(IdentityItem):
    user_id = UnicodeAttribute()
    used = BooleanAttribute(default=False)
    expires_at = NumberAttribute()

    @staticmethod
    def key(token_hash: str) -> tuple[str, str]:
        return f"RESET#{token_hash}", "RESET"


class SecurityEventItem(IdentityItem):
    """A security event that no other item's change records (a failed-login burst): the stream
    publishes it to the audit trail; the item expires a day later."""

    type = UnicodeAttribute()
    data = UnicodeAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(event_id: str) -> tuple[str, str]:
        return f"AUDIT#{event_id}", "EVENT"


class IdentityStore:
    """Storage for the identity service; every method is one or a few DynamoDB calls."""

    # -- users and uniqueness -------------------------------------------------------------

    def create_user(self, user: UserItem, claims: list[tuple[str, str]]) -> None:
        """Write the user and its claims in one transaction; Conflict names a taken claim."""
        claim_items = [ClaimItem(*ClaimItem.key(kind, value), user_id=user.user_id) for kind, value in claims]
        try:
            with TransactWrite(connection=transaction_connection(IdentityItem)) as transaction:
                transaction.save(user, condition=UserItem.pk.does_not_exist())
                for item in claim_items:
                    transaction.save(item, condition=ClaimItem.pk.does_not_exist())
        except TransactWriteError as exc:
            for (kind, _value), failed in zip(claims, failed_conditions(exc)[1:], strict=False):
                if failed:
                    raise Conflict(f"That {kind} is already taken") from None
            raise

    def user(self, user_id: str) -> UserItem | None:
        return get_or_none(UserItem, *UserItem.key(user_id))

    def token_generation(self, user_id: str) -> int | None:
        """The account's token generation (None: no such account), for the revocation cache."""
        user = self.user(user_id)
        return int(user.token_generation) if user is not None else None

    def user_by_claim(self, kind: str, value: str) -> UserItem | None:
        claim = get_or_none(ClaimItem, *ClaimItem.key(kind, value))
        return self.user(claim.user_id) if claim else None

    def confirm_email_change(self, user: UserItem, token_hash: str, old_key: str, new_key: str) -> bool:
        """Make the pending email the account's: claim it, release the old one (if this user
        holds it) and swap the address, in one transaction conditioned on the link being the
        latest. Outstanding reset links (mailed to the old address) die with it. False when the
        link was replaced or used meanwhile; Conflict when the address was taken."""
        try:
            with TransactWrite(connection=transaction_connection(IdentityItem)) as transaction:
                transaction.save(
                    ClaimItem(*ClaimItem.key("email", new_key), user_id=user.user_id),
                    condition=ClaimItem.pk.does_not_exist(),
                )
                held = get_or_none(ClaimItem, *ClaimItem.key("email", old_key))
                if held is not None and held.user_id == user.user_id:
                    transaction.delete(held, condition=ClaimItem.user_id == user.user_id)
                transaction.update(
                    UserItem(*UserItem.key(user.user_id)),
                    actions=[
                        UserItem.email.set(user.pending_email),
                        UserItem.updated_at.set(time.time()),
                        UserItem.pending_email.remove(),
                        UserItem.pending_email_hash.remove(),
                        UserItem.pending_email_expires_at.remove(),
                        UserItem.reset_token_hash.remove(),
                    ],
                    condition=UserItem.pending_email_hash == token_hash,
                )
        except TransactWriteError as exc:
            failed = failed_conditions(exc)
            if failed and failed[0]:
                raise Conflict("That email is already taken") from None
            if any(failed):
                return False
            raise
        return True

    def update_user(self, user: UserItem, actions: list, condition: Any = None) -> bool:
        """Change only the named attributes (never a whole-item put, which would undo a
        concurrent password change); the item is refreshed. False if `condition` failed."""
        try:
            user.update(actions=[*actions, UserItem.updated_at.set(time.time())], condition=condition)
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def record_security_event(self, event_id: str, event_type: str, data: dict[str, Any], now: float) -> None:
        SecurityEventItem(
            *SecurityEventItem.key(event_id),
            type=event_type,
            data=json.dumps(data, separators=(",", ":")),
            expires_at=int(now + 86400),
        ).save()

    # -- refresh families and tokens ------------------------------------------------------

    def create_family(self, family_id: str, user_id: str, expires_at: float) -> None:
        FamilyItem(*FamilyItem.key(family_id), user_id=user_id, expires_at=int(expires_at)).save()

    def family(self, family_id: str) -> FamilyItem | None:
        return get_or_none(FamilyItem, *FamilyItem.key(family_id))

    def session_ended(self, family_id: str) -> bool:
        """Whether a login session (refresh family) was logged out or revoked."""
        family = self.family(family_id)
        return family is None or bool(family.revoked)

    def revoke_family(self, family_id: str) -> None:
        family = FamilyItem(*FamilyItem.key(family_id))
        # An unknown family has nothing to revoke.
        with contextlib.suppress(UpdateError):
            family.update(actions=[FamilyItem.revoked.set(True)], condition=FamilyItem.pk.exists())

    def create_refresh(self, item: RefreshItem) -> None:
        item.save(condition=RefreshItem.pk.does_not_exist())

    def refresh_token(self, token_id: str) -> RefreshItem | None:
        return get_or_none(RefreshItem, *RefreshItem.key(token_id))

    def spend_refresh(self, item: RefreshItem) -> bool:
        """Mark the token spent if, and only if, it is still active. False: it was already spent."""
        try:
            item.update(actions=[RefreshItem.status.set("spent")], condition=RefreshItem.status == "active")
            return True
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise

    # -- API keys -------------------------------------------------------------------------

    def create_api_key(self, item: ApiKeyItem) -> None:
        item.save(condition=ApiKeyItem.pk.does_not_exist())

    def api_key(self, key_id: str) -> ApiKeyItem | None:
        return get_or_none(ApiKeyItem, *ApiKeyItem.key(key_id))

    def api_keys_of(self, user_id: str) -> list[ApiKeyItem]:
        return list(ApiKeyItem.by_owner.query(f"USER#{user_id}", ApiKeyItem.gsi1sk.startswith("APIKEY#")))

    def replace_api_key_secret(self, item: ApiKeyItem, prefix: str, secret_hash: str) -> None:
        item.update(
            actions=[ApiKeyItem.secret_hash.set(secret_hash), ApiKeyItem.prefix.set(prefix)],
            condition=ApiKeyItem.pk.exists(),
        )

    def touch_api_key(self, item: ApiKeyItem, now: float, min_interval_s: float = 60) -> None:
        """Record use at most once a minute per key: a write per request would double its cost."""
        if item.last_used_at is not None and now - item.last_used_at < min_interval_s:
            return
        # A failed condition means another request recorded it first.
        with contextlib.suppress(UpdateError):
            item.update(
                actions=[ApiKeyItem.last_used_at.set(now)],
                condition=ApiKeyItem.last_used_at.does_not_exist() | (ApiKeyItem.last_used_at < now - min_interval_s),
            )

    def delete_api_key(self, item: ApiKeyItem) -> None:
        item.delete()

    def delete_api_keys_of(self, user_id: str) -> int:
        """Delete every key of a user; how many there were."""
        items = self.api_keys_of(user_id)
        with ApiKeyItem.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)

    # -- password resets ------------------------------------------------------------------

    def create_reset(self, token_hash: str, user_id: str, expires_at: float) -> None:
        """Store a reset token and make it the account's only live one, together."""
        with TransactWrite(connection=transaction_connection(IdentityItem)) as transaction:
            transaction.save(ResetItem(*ResetItem.key(token_hash), user_id=user_id, expires_at=int(expires_at)))
            transaction.update(
                UserItem(*UserItem.key(user_id)),
                actions=[UserItem.reset_token_hash.set(token_hash)],
                condition=UserItem.pk.exists(),
            )

    def reset_owner(self, token_hash: str, now: float) -> str | None:
        """Whose reset token this is, if it is still usable; spends nothing."""
        item = get_or_none(ResetItem, *ResetItem.key(token_hash))
        return item.user_id if item is not None and not item.used and item.expires_at > now else None

    def use_reset(self, token_hash: str, user_id: str, now: float) -> bool:
        """Spend a reset token once, if it is unused, unexpired and still its account's latest."""
        try:
            with TransactWrite(connection=transaction_connection(IdentityItem)) as transaction:
                transaction.update(
                    ResetItem(*ResetItem.key(token_hash)),
                    actions=[ResetItem.used.set(True)],
                    condition=ResetItem.pk.exists()
                    & (ResetItem.used == False)  # noqa: E712
                    & (ResetItem.expires_at > int(now))
                    & (ResetItem.user_id == user_id),
                )
                transaction.condition_check(
                    UserItem, *UserItem.key(user_id), condition=UserItem.reset_token_hash == token_hash
                )
        except TransactWriteError as exc:
            if any(failed_conditions(exc)):
                return False
            raise
        return True
