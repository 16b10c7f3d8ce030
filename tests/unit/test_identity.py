"""Identity's guards that need no network: the verified-token cache and expiry, the revocation
check and its fallbacks, identifiers, the reset request's constant work, the audit events."""

from __future__ import annotations

import json
import time
from typing import Any

import fakeredis
import pytest
import redis

from chalicelib.auth import identifiers
from chalicelib.auth.handlers import events_of
from chalicelib.auth.keys import KeyRing, KeyRingSource, new_keyring_secret
from chalicelib.auth.revocation import Revocations
from chalicelib.auth.service import IdentityService
from chalicelib.auth.tokens import LEEWAY_S, AccessTokens
from chalicelib.errors import TooManyRequests, Unauthenticated, ValidationFailed

T0 = 1_900_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ring() -> KeyRingSource:
    secret = new_keyring_secret()
    source = KeyRingSource(lambda: secret)
    assert isinstance(source.get(), KeyRing)
    return source


# -- the verified-token cache ------------------------------------------------------------------------


def test_a_cached_token_is_refused_after_its_expiry(ring):
    # PyJWT checks a fresh decode against the real time; the cache answers by the injected clock.
    clock = Clock(time.time())
    issued_at = clock.now
    tokens = AccessTokens(ring, "https://issuer", "aud", ttl_s=60, clock=clock)
    issued = tokens.issue("u1", "alice", ["user"], "s1", generation=3)
    claims = tokens.verify(issued.token)
    assert claims["gen"] == 3 and tokens.verified.get(issued.token, clock()) == claims
    clock.now = int(issued_at) + 60 + LEEWAY_S - 1
    assert tokens.verified.get(issued.token, clock()) == claims  # still in time: a hit
    clock.now = int(issued_at) + 60 + LEEWAY_S
    # The cache must not outlive the token: a hit is checked against exp like a fresh decode.
    assert tokens.verified.get(issued.token, clock()) is None


# -- revocation -------------------------------------------------------------------------------------


class Table:
    def __init__(self) -> None:
        self.generations: dict[str, int] = {"u1": 0}
        self.ended: set[str] = set()
        self.reads = 0

    def generation_of(self, user_id: str) -> int | None:
        self.reads += 1
        return self.generations.get(user_id)

    def session_ended(self, session_id: str) -> bool:
        self.reads += 1
        return session_id in self.ended


@pytest.fixture
def table() -> Table:
    return Table()


@pytest.fixture
def cache() -> redis.Redis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def test_revocation_reads_the_table_only_on_a_miss(table, cache):
    revocations = Revocations(lambda: cache, table.generation_of, table.session_ended)
    for _ in range(5):
        revocations.check("u1", "s1", 0)
    assert table.reads == 2  # one miss per key, then the cache answers

    table.generations["u1"] = 1
    revocations.generation_changed("u1", 1)
    with pytest.raises(Unauthenticated, match="password change"):
        revocations.check("u1", "s1", 0)
    revocations.check("u1", "s1", 1)  # a token of the new generation, whatever second it was minted in

    table.ended.add("s1")
    revocations.session_ended("s1")
    with pytest.raises(Unauthenticated, match="session"):
        revocations.check("u1", "s1", 1)
    revocations.check("u1", "s2", 1)


def test_a_stale_refill_cannot_overwrite_a_revocation(table, cache):
    revocations = Revocations(lambda: cache, table.generation_of, table.session_ended)
    revocations.generation_changed("u1", 2)
    # A reader that read generation 0 from the table before the change refills only if absent.
    revocations._add(cache, {"auth:gen:u1": 0})
    with pytest.raises(Unauthenticated):
        revocations.check("u1", None, 1)


def test_without_redis_every_check_reads_the_table_and_still_refuses(table):
    def down() -> redis.Redis:
        raise redis.exceptions.ConnectionError("down")

    revocations = Revocations(down, table.generation_of, table.session_ended)
    table.generations["u1"], table.ended = 4, {"gone"}
    revocations.check("u1", "s1", 4)
    with pytest.raises(Unauthenticated):
        revocations.check("u1", "s1", 3)
    with pytest.raises(Unauthenticated):
        revocations.check("u1", "gone", 4)
    with pytest.raises(Unauthenticated, match="no longer exists"):
        revocations.check("nobody", None, 0)


# -- identifiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("alice", "alice"), ("Alice.B-c_d+e", "Alice.B-c_d+e"), ("ａｌｉｃｅ", "alice"), ("ﬁnn", "finn")],
)
def test_usernames_are_nfkc_and_unique_case_folded(raw, stored):
    assert identifiers.username(raw) == stored
    assert identifiers.username_key(identifiers.username(raw)) == stored.casefold()


@pytest.mark.parametrize(
    "raw", ["alice\n", "alice ", " alice", "al\u200bice", "аlice", "a@b.example", "oidc-abc", "ab", "x" * 151]
)
def test_usernames_that_could_pass_for_another_are_refused(raw):
    with pytest.raises(ValidationFailed) as refused:
        identifiers.username(raw)
    assert refused.value.errors[0].path == "$.username"


def test_a_login_identifier_with_an_at_sign_is_only_ever_an_email():
    assert identifiers.login_claim("Alice@EXAMPLE.com") == ("email", "alice@example.com")
    assert identifiers.login_claim("ALICE") == ("username", "alice")
    assert identifiers.login_claim("not an@email") is None


# -- the reset request ------------------------------------------------------------------------------


class Untouchable:
    """A store that fails the test if the request path reads or writes it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the reset request touched the store ({name})")


class CountingThrottle:
    def __init__(self, limit: int) -> None:
        self.limit, self.counts = limit, {}

    def check(self, key: str) -> None:
        if self.counts.get(key, 0) >= self.limit:
            raise TooManyRequests("slow down", retry_after_s=60)

    def failed(self, key: str) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


def test_a_reset_request_does_the_same_work_whether_or_not_the_address_has_an_account():
    queued: list[str] = []
    service = IdentityService.__new__(IdentityService)
    service.store = Untouchable()
    service.reset_client_throttle, service.reset_email_throttle = CountingThrottle(3), CountingThrottle(2)
    service.enqueue_reset = queued.append
    for email in ("Known@Example.com", "nobody@example.com", "known@example.com"):
        service.request_password_reset(email, "203.0.113.9")
    assert queued == ["known@example.com", "nobody@example.com", "known@example.com"]
    with pytest.raises(TooManyRequests):  # the address's allowance is used up
        service.request_password_reset("KNOWN@example.com", "198.51.100.1")
    with pytest.raises(TooManyRequests):  # and so is this client's
        service.request_password_reset("other@example.com", "203.0.113.9")
    assert len(queued) == 3


# -- audit events from the identity stream ------------------------------------------------------------


def image(**values: Any) -> dict[str, Any]:
    def attribute(value: Any) -> dict[str, Any]:
        if isinstance(value, list):
            return {"L": [{"S": entry} for entry in value]}
        return {"N": str(value)} if isinstance(value, int | float) else {"S": value}

    return {name: attribute(value) for name, value in values.items()}


def test_account_changes_become_audit_events():
    user = {"pk": "USER#u1", "sk": "PROFILE", "user_id": "u1", "username": "alice", "email": "a@example.com"}
    before = image(**user, roles=["user"], password_changed_at=1)
    moved = {**user, "email": "b@example.com"}
    after = image(**moved, roles=["user", "admin"], password_changed_at=2, password_changed_via="reset")
    assert events_of("MODIFY", before, after) == [
        ("user.email_changed", {"user_id": "u1", "from": "a@example.com", "to": "b@example.com"}),
        ("user.password_changed", {"user_id": "u1", "via": "reset"}),
        ("user.roles_changed", {"user_id": "u1", "from": ["user"], "to": ["user", "admin"]}),
    ]
    # A rehash at login rewrites the hash, not password_changed_at: no event.
    assert events_of("MODIFY", before, image(**user, roles=["user"], password_changed_at=1, password_hash="x")) == []
    key = image(pk="APIKEY#k1", sk="KEY", user_id="u1", key_id="k1", name="ci", secret_hash="h1", scopes=["logs:write"])
    assert events_of("INSERT", None, key)[0][0] == "user.api_key_created"
    assert events_of("MODIFY", key, {**key, "secret_hash": {"S": "h2"}})[0][0] == "user.api_key_regenerated"
    assert events_of("REMOVE", key, None)[0][0] == "user.api_key_deleted"
    burst = image(pk="AUDIT#e1", sk="EVENT", type="user.login_throttled", data=json.dumps({"user_id": "u1"}))
    assert events_of("INSERT", None, burst) == [("user.login_throttled", {"user_id": "u1"})]
