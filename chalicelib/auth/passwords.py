"""Password hashing (argon2id) and the policy a new password must meet."""

from __future__ import annotations

import difflib
import functools
import gzip
import re
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.errors import FieldError

PATH = "$.password"
MIN_LENGTH = 10
MAX_SIMILARITY = 0.7
# Shorter usernames ("bob", "ann") occur inside ordinary words by chance.
MIN_USERNAME_TO_MATCH = 4

TOO_SHORT = f"Password must be at least {MIN_LENGTH} characters long."
ALL_DIGITS = "Password must not consist only of digits."
CONTAINS_USERNAME = "Password must not contain the username."
SIMILAR_TO_USERNAME = "Password is too similar to the username."
SIMILAR_TO_EMAIL = "Password is too similar to the email address."
SIMILAR_TO_DETAILS = "Password is too similar to your personal details."
TOO_COMMON = "Password is too common; choose one that is harder to guess."


class Passwords:
    """argon2id hashing with the cost parameters injected, so tests and small Lambdas can tune them."""

    def __init__(self, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 2) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism, type=Type.ID
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            # A corrupt or foreign hash must read as "wrong password", not a 500 that tells
            # an attacker which accounts have odd records.
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            # Anything we cannot parse was not made with the current parameters.
            return True


def password_problems(
    password: str, *, username: str = "", email: str = "", other_attributes: tuple[str, ...] = ()
) -> list[FieldError]:
    """Every way `password` breaks the policy; an empty list means it is acceptable."""
    messages: list[str] = []
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        messages.append(TOO_SHORT)
    if password.isdigit():
        messages.append(ALL_DIGITS)
    if len(username) >= MIN_USERNAME_TO_MATCH and username.lower() in lowered:
        # Containment already says it; a second, vaguer similarity message would be noise.
        messages.append(CONTAINS_USERNAME)
    elif _too_similar(lowered, (username,)):
        messages.append(SIMILAR_TO_USERNAME)
    if _too_similar(lowered, (email, email.rpartition("@")[0])):
        messages.append(SIMILAR_TO_EMAIL)
    if _too_similar(lowered, other_attributes):
        messages.append(SIMILAR_TO_DETAILS)
    # Surrounding spaces add no guessing work, so " password123 " is as common as the bare word.
    if lowered.strip() in _common_passwords():
        messages.append(TOO_COMMON)
    return [FieldError(PATH, message) for message in messages]


def _too_similar(lowered_password: str, values: tuple[str, ...]) -> bool:
    """Django's UserAttributeSimilarityValidator test: each value and its word-parts against the password."""
    for value in values:
        lowered_value = value.lower()
        for part in {*re.split(r"\W+", lowered_value), lowered_value}:
            if not part:
                continue
            matcher = difflib.SequenceMatcher(a=lowered_password, b=part)
            # quick_ratio is a cheap upper bound of ratio; it spares the costly exact
            # comparison for most pairs, including any pair of very different lengths.
            if matcher.quick_ratio() >= MAX_SIMILARITY and matcher.ratio() >= MAX_SIMILARITY:
                return True
    return False


@functools.cache
def _common_passwords() -> frozenset[str]:
    # Loaded on first use, not at import: decompressing ~20k entries costs ~10 ms that cold
    # starts of routes which never see a password should not pay.
    packed = resources.files("chalicelib.auth").joinpath("common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(packed).decode("utf-8").splitlines()
    return frozenset(entry for line in lines if (entry := line.strip().lower()))
