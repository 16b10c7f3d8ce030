"""The identity table (PynamoDB): users, uniqueness claims, refresh families and tokens,
API keys and password-reset tokens, one item type per key prefix.

Every state change that must not race is a conditional write: a username is claimed by a
put that fails if the claim exists; a refresh token is spent by an update conditioned on
`status = active`; a reset token is used the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.auth.model import ApiKey, RefreshToken, Session, User, UserValue
from chalicelib.dynamo import (
    KeyedItem,
    Refused,
    condition_failed,
    float_or_none,
    get_or_none,
    int_or_none,
    strings,
    transaction,
    unbound_meta,
)
from chalicelib.errors import Conflict


class IdentityItem(KeyedItem):
    Meta = unbound_meta()


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

    @classmethod
    def of(cls, user: User) -> UserItem:
        fields = dataclasses.asdict(user)
        fields["roles"] = list(user.roles)
        return cls(*cls.key(user.user_id), **fields)

    def user(self) -> User:
        return User(
            user_id=self.user_id,
            username=self.username,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            password_hash=self.password_hash,
            roles=strings(self.roles),
            created_at=float(self.created_at),
            updated_at=float(self.updated_at),
            tokens_valid_after=float(self.tokens_valid_after),
            token_generation=int(self.token_generation),
            password_changed_at=float_or_none(self.password_changed_at),
            password_changed_via=self.password_changed_via,
            pending_email=self.pending_email,
            pending_email_hash=self.pending_email_hash,
            pending_email_expires_at=int_or_none(self.pending_email_expires_at),
            reset_token_hash=self.reset_token_hash,
            external_identity=self.external_identity,
        )


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

    def session(self) -> Session:
        return Session(self.pk.split("#", 1)[1], self.user_id, bool(self.revoked), int(self.expires_at))


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

    @classmethod
    def of(cls, token: RefreshToken) -> RefreshItem:
        fields = dataclasses.asdict(token)
        return cls(*cls.key(fields.pop("token_id")), **fields)

    def token(self) -> RefreshToken:
        return RefreshToken(
            token_id=self.pk.split("#", 1)[1],
            family_id=self.family_id,
            user_id=self.user_id,
            secret_hash=self.secret_hash,
            issued_at=float(self.issued_at),
            expires_at=int(self.expires_at),
            status=self.status,
        )


class ByOwner(GlobalSecondaryIndex["ApiKeyItem"]):
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

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyItem:
        fields = dataclasses.asdict(key)
        fields["scopes"] = list(key.scopes)
        return cls(
            *cls.key(key.key_id),
            **fields,
            gsi1pk=f"USER#{key.user_id}",
            gsi1sk=f"APIKEY#{key.created_at:017.6f}#{key.key_id}",
        )

    def api_key(self) -> ApiKey:
        return ApiKey(
            key_id=self.key_id,
            user_id=self.user_id,
            name=self.name,
            prefix=self.prefix,
            secret_hash=self.secret_hash,
            scopes=strings(self.scopes),
            created_at=float(self.created_at),
            last_used_at=float_or_none(self.last_used_at),
            expires_at=int_or_none(self.expires_at),
        )


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
    """Storage for the identity service (chalicelib/auth/model.py's IdentityStorage); every
    method is one or a few DynamoDB calls."""

    # -- users and uniqueness -------------------------------------------------------------

    def create_user(self, user: User, claims: list[tuple[str, str]]) -> None:
        """Write the user and its claims in one transaction; Conflict names a taken claim."""
        try:
            with transaction(IdentityItem) as steps:
                steps.save(UserItem.of(user), condition=UserItem.pk.does_not_exist())
                for kind, value in claims:
                    claim = ClaimItem(*ClaimItem.key(kind, value), user_id=user.user_id)
                    steps.save(claim, condition=ClaimItem.pk.does_not_exist(), refusal=kind)
        except Refused as refused:
            taken = next((kind for kind, _ in claims if kind in refused.refusals), None)
            if taken is not None:
                raise Conflict(f"That {taken} is already taken") from None
            raise

    def user(self, user_id: str) -> User | None:
        item = get_or_none(UserItem, *UserItem.key(user_id))
        return item.user() if item is not None else None

    def token_generation(self, user_id: str) -> int | None:
        """The account's token generation (None: no such account), for the revocation cache."""
        user = self.user(user_id)
        return user.token_generation if user is not None else None

    def user_by_claim(self, kind: str, value: str) -> User | None:
        claim = get_or_none(ClaimItem, *ClaimItem.key(kind, value))
        return self.user(claim.user_id) if claim else None

    def confirm_email_change(self, user: User, token_hash: str, old_key: str, new_key: str) -> bool:
        """Make the pending email the account's: claim it, release the old one (if this user
        holds it) and swap the address, in one transaction conditioned on the link being the
        latest. Outstanding reset links (mailed to the old address) die with it. False when the
        link was replaced or used meanwhile; Conflict when the address was taken."""
        if user.pending_email is None:
            raise ValueError(f"user {user.user_id} has no pending email to confirm")
        try:
            with transaction(IdentityItem) as steps:
                steps.save(
                    ClaimItem(*ClaimItem.key("email", new_key), user_id=user.user_id),
                    condition=ClaimItem.pk.does_not_exist(),
                    refusal="taken",
                )
                held = get_or_none(ClaimItem, *ClaimItem.key("email", old_key))
                if held is not None and held.user_id == user.user_id:
                    steps.delete(held, condition=ClaimItem.user_id == user.user_id)
                steps.update(
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
        except Refused as refused:
            if "taken" in refused.refusals:
                raise Conflict("That email is already taken") from None
            return False
        return True

    def _update_user(self, user_id: str, actions: list[Any], condition: Any = None) -> User | None:
        """Change only the named attributes (never a whole-item put, which would undo a
        concurrent password change); the user as it is now, or None if `condition` failed."""
        item = UserItem(*UserItem.key(user_id))
        try:
            item.update(actions=[*actions, UserItem.updated_at.set(time.time())], condition=condition)
        except UpdateError as exc:
            if condition_failed(exc):
                return None
            raise
        return item.user()

    def set_user(self, user_id: str, changes: Mapping[str, UserValue]) -> User:
        actions = [
            getattr(UserItem, name).remove()
            if value is None
            else getattr(UserItem, name).set(list(value) if isinstance(value, tuple) else value)
            for name, value in changes.items()
        ]
        user = self._update_user(user_id, actions)
        assert user is not None  # unconditional
        return user

    def rehash_password(self, user_id: str, expected_hash: str, new_hash: str) -> bool:
        updated = self._update_user(
            user_id, [UserItem.password_hash.set(new_hash)], condition=UserItem.password_hash == expected_hash
        )
        return updated is not None

    def set_password(self, user_id: str, password_hash: str, via: str, now: float) -> User:
        user = self._update_user(
            user_id,
            [
                UserItem.password_hash.set(password_hash),
                UserItem.tokens_valid_after.set(now),
                UserItem.token_generation.add(1),
                UserItem.password_changed_at.set(now),
                UserItem.password_changed_via.set(via),
                UserItem.reset_token_hash.remove(),
            ],
        )
        assert user is not None  # unconditional
        return user

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

    def family(self, family_id: str) -> Session | None:
        item = get_or_none(FamilyItem, *FamilyItem.key(family_id))
        return item.session() if item is not None else None

    def session_ended(self, family_id: str) -> bool:
        """Whether a login session (refresh family) was logged out or revoked."""
        family = self.family(family_id)
        return family is None or family.revoked

    def revoke_family(self, family_id: str) -> None:
        family = FamilyItem(*FamilyItem.key(family_id))
        # An unknown family has nothing to revoke.
        with contextlib.suppress(UpdateError):
            family.update(actions=[FamilyItem.revoked.set(True)], condition=FamilyItem.pk.exists())

    def create_refresh(self, token: RefreshToken) -> None:
        RefreshItem.of(token).save(condition=RefreshItem.pk.does_not_exist())

    def refresh_token(self, token_id: str) -> RefreshToken | None:
        item = get_or_none(RefreshItem, *RefreshItem.key(token_id))
        return item.token() if item is not None else None

    def spend_refresh(self, token_id: str) -> bool:
        """Mark the token spent if, and only if, it is still active. False: it was already spent."""
        try:
            RefreshItem(*RefreshItem.key(token_id)).update(
                actions=[RefreshItem.status.set("spent")], condition=RefreshItem.status == "active"
            )
            return True
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise

    # -- API keys -------------------------------------------------------------------------

    def create_api_key(self, key: ApiKey) -> None:
        ApiKeyItem.of(key).save(condition=ApiKeyItem.pk.does_not_exist())

    def api_key(self, key_id: str) -> ApiKey | None:
        item = get_or_none(ApiKeyItem, *ApiKeyItem.key(key_id))
        return item.api_key() if item is not None else None

    def _api_key_items(self, user_id: str) -> list[ApiKeyItem]:
        return list(ApiKeyItem.by_owner.query(f"USER#{user_id}", ApiKeyItem.gsi1sk.startswith("APIKEY#")))

    def api_keys_of(self, user_id: str) -> list[ApiKey]:
        return [item.api_key() for item in self._api_key_items(user_id)]

    def replace_api_key_secret(self, key_id: str, prefix: str, secret_hash: str) -> None:
        ApiKeyItem(*ApiKeyItem.key(key_id)).update(
            actions=[ApiKeyItem.secret_hash.set(secret_hash), ApiKeyItem.prefix.set(prefix)],
            condition=ApiKeyItem.pk.exists(),
        )

    def touch_api_key(self, key: ApiKey, now: float, min_interval_s: float = 60) -> None:
        """Record use at most once a minute per key: a write per request would double its cost."""
        if key.last_used_at is not None and now - key.last_used_at < min_interval_s:
            return
        # A failed condition means another request recorded it first.
        with contextlib.suppress(UpdateError):
            ApiKeyItem(*ApiKeyItem.key(key.key_id)).update(
                actions=[ApiKeyItem.last_used_at.set(now)],
                condition=ApiKeyItem.last_used_at.does_not_exist() | (ApiKeyItem.last_used_at < now - min_interval_s),
            )

    def delete_api_key(self, key_id: str) -> None:
        ApiKeyItem(*ApiKeyItem.key(key_id)).delete()

    def delete_api_keys_of(self, user_id: str) -> int:
        """Delete every key of a user; how many there were."""
        items = self._api_key_items(user_id)
        with ApiKeyItem.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)

    # -- password resets ------------------------------------------------------------------

    def create_reset(self, token_hash: str, user_id: str, expires_at: float) -> None:
        """Store a reset token and make it the account's only live one, together."""
        with transaction(IdentityItem) as steps:
            steps.save(ResetItem(*ResetItem.key(token_hash), user_id=user_id, expires_at=int(expires_at)))
            steps.update(
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
            with transaction(IdentityItem) as steps:
                steps.update(
                    ResetItem(*ResetItem.key(token_hash)),
                    actions=[ResetItem.used.set(True)],
                    condition=ResetItem.pk.exists()
                    & (ResetItem.used == False)  # noqa: E712
                    & (ResetItem.expires_at > int(now))
                    & (ResetItem.user_id == user_id),
                )
                steps.check(UserItem, *UserItem.key(user_id), condition=UserItem.reset_token_hash == token_hash)
        except Refused:
            return False
        return True
