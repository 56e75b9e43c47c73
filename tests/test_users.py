"""Dashboard accounts: `dialer users add`, passwords, logins."""

from __future__ import annotations

import io

import pytest
from sqlalchemy.orm import Session

from dialer.models import User, UserRole
from dialer.users import (
    InvalidUserError,
    UserExistsError,
    authenticate,
    create_user,
    deactivate_user,
    hash_password,
    password_from_prompt,
    password_from_stream,
    set_password,
    verify_password,
)
from tests.factories import DEFAULT_TIME

PASSWORD = "long enough password"


def test_a_new_user_can_log_in(session: Session) -> None:
    create_user(session, "Sato", role="operator", password=PASSWORD, now=DEFAULT_TIME)
    user = authenticate(session, "sato", PASSWORD, now=DEFAULT_TIME)
    assert user is not None
    assert (user.username, user.role, user.active) == ("sato", UserRole.OPERATOR, True)
    assert user.last_login_at == DEFAULT_TIME


def test_the_password_is_stored_hashed_and_salted(session: Session) -> None:
    first = create_user(session, "a1", role="operator", password=PASSWORD, now=DEFAULT_TIME)
    second = create_user(session, "a2", role="operator", password=PASSWORD, now=DEFAULT_TIME)
    assert PASSWORD not in first.password_hash
    assert first.password_hash.startswith("scrypt:")
    assert first.password_hash != second.password_hash


def test_verify_password() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)
    assert not verify_password("pbkdf2:1$a$b", PASSWORD)


@pytest.mark.parametrize(
    ("username", "password"),
    [("kanri", "wrong password"), ("nobody", PASSWORD)],
    ids=["wrong-password", "unknown-name"],
)
def test_wrong_credentials_log_nobody_in(session: Session, username: str, password: str) -> None:
    create_user(session, "kanri", role="supervisor", password=PASSWORD, now=DEFAULT_TIME)
    assert authenticate(session, username, password, now=DEFAULT_TIME) is None


def test_a_deactivated_user_cannot_log_in(session: Session) -> None:
    create_user(session, "kanri", role="supervisor", password=PASSWORD, now=DEFAULT_TIME)
    deactivate_user(session, "kanri")
    assert authenticate(session, "kanri", PASSWORD, now=DEFAULT_TIME) is None


def test_a_changed_password_replaces_the_old_one(session: Session) -> None:
    create_user(session, "kanri", role="supervisor", password=PASSWORD, now=DEFAULT_TIME)
    set_password(session, "kanri", "another long password")
    assert authenticate(session, "kanri", PASSWORD, now=DEFAULT_TIME) is None
    assert authenticate(session, "kanri", "another long password", now=DEFAULT_TIME)


def test_a_name_is_taken_once(session: Session) -> None:
    create_user(session, "kanri", role="supervisor", password=PASSWORD, now=DEFAULT_TIME)
    with pytest.raises(UserExistsError):
        create_user(session, "KANRI", role="operator", password=PASSWORD, now=DEFAULT_TIME)
    assert session.query(User).count() == 1


@pytest.mark.parametrize(
    ("username", "role", "password"),
    [
        ("kanri", "admin", PASSWORD),
        ("x", "operator", PASSWORD),
        ("山田", "operator", PASSWORD),
        ("has space", "operator", PASSWORD),
        ("kanri", "supervisor", "short"),
    ],
    ids=["unknown-role", "too-short-name", "non-ascii-name", "space-in-name", "short-password"],
)
def test_what_cannot_be_an_account(
    session: Session, username: str, role: str, password: str
) -> None:
    with pytest.raises(InvalidUserError):
        create_user(session, username, role=role, password=password, now=DEFAULT_TIME)
    assert session.query(User).count() == 0


def test_password_from_stdin_takes_the_first_line() -> None:
    assert password_from_stream(io.StringIO(PASSWORD + "\nignored\n")) == PASSWORD
    with pytest.raises(InvalidUserError):
        password_from_stream(io.StringIO("short\n"))


def test_password_from_the_prompt_is_asked_twice() -> None:
    answers = iter([PASSWORD, PASSWORD])
    assert password_from_prompt(lambda _prompt: next(answers)) == PASSWORD
    answers = iter([PASSWORD, PASSWORD + "?"])
    with pytest.raises(InvalidUserError, match="differ"):
        password_from_prompt(lambda _prompt: next(answers))
