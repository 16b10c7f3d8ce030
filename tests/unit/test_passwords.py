from __future__ import annotations

import pytest

from chalicelib.auth import passwords
from chalicelib.auth.passwords import Passwords, password_problems
from chalicelib.errors import FieldError

GOOD = "correct horse battery staple 42"


@pytest.fixture
def fast() -> Passwords:
    # The smallest costs argon2 accepts: the tests check behaviour, not strength.
    return Passwords(time_cost=1, memory_cost_kib=8, parallelism=1)


def messages(password: str, username: str = "", email: str = "", other_attributes: tuple[str, ...] = ()) -> list[str]:
    problems = password_problems(password, username=username, email=email, other_attributes=other_attributes)
    assert all(problem.path == "$.password" for problem in problems)
    return [problem.message for problem in problems]


def test_hash_round_trips_and_is_argon2id(fast: Passwords) -> None:
    stored = fast.hash(GOOD)

    assert stored.startswith("$argon2id$")
    assert fast.verify(stored, GOOD)
    assert fast.hash(GOOD) != stored, "each hash must carry its own salt"


def test_verify_rejects_a_wrong_password(fast: Passwords) -> None:
    assert not fast.verify(fast.hash(GOOD), GOOD.upper())


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a hash",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=8,t=1,p=1$garbage",
    ],
)
def test_verify_of_a_malformed_hash_is_false_not_an_error(fast: Passwords, garbage: str) -> None:
    assert fast.verify(garbage, GOOD) is False


def test_needs_rehash_follows_the_parameters(fast: Passwords) -> None:
    stored = fast.hash(GOOD)

    assert not fast.needs_rehash(stored)
    assert Passwords(time_cost=2, memory_cost_kib=8, parallelism=1).needs_rehash(stored)
    assert Passwords(time_cost=1, memory_cost_kib=16, parallelism=1).needs_rehash(stored)


def test_needs_rehash_of_a_malformed_hash_is_true(fast: Passwords) -> None:
    assert fast.needs_rehash("not a hash")


def test_a_good_password_passes() -> None:
    assert password_problems(GOOD, username="alice", email="alice.smith@example.com") == []


def test_too_short() -> None:
    assert messages("Zq8#mv!2k") == [passwords.TOO_SHORT]
    assert messages("Zq8#mv!2kx") == []


def test_entirely_numeric() -> None:
    assert messages("73019284657162") == [passwords.ALL_DIGITS]


def test_common_password_is_caught_case_insensitively() -> None:
    assert "password123" in passwords._common_passwords()
    assert "qwertyuiop" in passwords._common_passwords()

    assert messages("PassWord123") == [passwords.TOO_COMMON]
    assert messages("QWERTYUIOP") == [passwords.TOO_COMMON]


def test_common_list_is_loaded_once() -> None:
    assert passwords._common_passwords() is passwords._common_passwords()
    assert len(passwords._common_passwords()) > 19_000


def test_containing_the_username() -> None:
    assert messages("my-long-passphrase-alice-2024", username="Alice") == [passwords.CONTAINS_USERNAME]


def test_short_usernames_are_not_searched_for() -> None:
    assert messages("a bobcat ate my homework", username="bob") == []


def test_similar_to_the_username() -> None:
    assert messages("Christofer99", username="christopher") == [passwords.SIMILAR_TO_USERNAME]


def test_similarity_is_the_exact_ratio_not_the_quick_upper_bound() -> None:
    # The same letters reversed: quick_ratio alone (1.0) would reject it, ratio (0.27) does not.
    assert messages("nnylacceber", username="rebeccalynn") == []


@pytest.mark.parametrize(
    "password",
    [
        "jane.doe@example.org",  # the whole address
        "Jane.Doe99",  # the local part
        "Examples!!",  # one word of it
    ],
)
def test_similar_to_the_email(password: str) -> None:
    assert messages(password, email="jane.doe@example.org") == [passwords.SIMILAR_TO_EMAIL]


def test_similar_to_other_attributes() -> None:
    assert messages("Wolfgang.Amadeus", other_attributes=("Wolfgang Amadeus", "Mozart")) == [
        passwords.SIMILAR_TO_DETAILS
    ]


def test_every_problem_is_reported() -> None:
    problems = password_problems("123456", username="123456")

    assert problems == [
        FieldError("$.password", passwords.TOO_SHORT),
        FieldError("$.password", passwords.ALL_DIGITS),
        FieldError("$.password", passwords.CONTAINS_USERNAME),
        FieldError("$.password", passwords.TOO_COMMON),
    ]
