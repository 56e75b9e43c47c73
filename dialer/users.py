"""Dashboard accounts: create them, check a password, deactivate them.

Passwords are hashed with scrypt from the standard library (salted, memory-hard), in the form
`scrypt:N:r:p$salt$hash` (base64), so that the cost can be raised later and old hashes still
verify. Checking a login costs one hash whether or not the name exists, so the time taken does
not tell which names do. `dialer users add NAME --role R` is `create_user`, with the password
read by `password_from_prompt` or `password_from_stream`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Final, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from dialer.models import User, UserRole
from dialer.wallclock import require_aware

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "InvalidUserError",
    "User",
    "UserExistsError",
    "UserRole",
    "authenticate",
    "create_user",
    "deactivate_user",
    "hash_password",
    "load_user",
    "password_from_prompt",
    "password_from_stream",
    "set_password",
    "verify_password",
]

MIN_PASSWORD_LENGTH: Final = 10
_USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_SCHEME: Final = "scrypt"
# 2**15 × 8 × 128 bytes = 32 MiB per hash; around 50 ms.
_N, _R, _P = 2**15, 8, 1
_MAXMEM: Final = 64 * 1024 * 1024
_SALT_BYTES: Final = 16
_HASH_BYTES: Final = 32


class InvalidUserError(DialerError):
    """A name, role or password that cannot be used."""


class UserExistsError(DialerError):
    """The name is taken."""


def hash_password(password: str) -> str:
    """A new salted hash of `password`, in the stored form."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"{_SCHEME}:{_N}:{_R}:{_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash; False for a hash in an unknown form."""
    try:
        params, salt_text, digest_text = stored.split("$")
        scheme, n, r, p = params.split(":")
        if scheme != _SCHEME:
            return False
        salt, expected = base64.b64decode(salt_text), base64.b64decode(digest_text)
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so an unknown name costs the same time."""
    return hash_password(secrets.token_urlsafe(16))


def create_user(
    session: Session, username: str, *, role: str, password: str, now: datetime
) -> User:
    """Add an account and commit; `UserExistsError` when the name is taken.

    Names are lower-case letters, digits, `.`, `_` and `-` (an operator's name should be their
    id in campaigns.yaml); passwords have at least `MIN_PASSWORD_LENGTH` characters.
    """
    require_aware(now)
    name = _valid_username(username)
    user = User(
        username=name,
        password_hash=hash_password(_valid_password(password)),
        role=_valid_role(role),
        active=True,
    )
    with session.begin():
        if session.scalar(sa.select(User.id).where(User.username == name)) is not None:
            raise UserExistsError(f"user '{name}' already exists")
        session.add(user)
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """Replace a user's password and commit."""
    hashed = hash_password(_valid_password(password))
    with session.begin():
        user = _by_name(session, username)
        user.password_hash = hashed


def deactivate_user(session: Session, username: str) -> None:
    """Stop an account from logging in (its sessions end at their next request) and commit."""
    with session.begin():
        _by_name(session, username).active = False


def authenticate(session: Session, username: str, password: str, *, now: datetime) -> User | None:
    """The active user with this name and password, its last login recorded; else None."""
    require_aware(now)
    with session.begin():
        user = session.scalars(
            sa.select(User).where(User.username == username.strip().lower())
        ).one_or_none()
        if user is None:
            verify_password(_dummy_hash(), password)
            return None
        if not verify_password(user.password_hash, password) or not user.active:
            return None
        user.last_login_at = now
    return user


def load_user(session: Session, user_id: int) -> User | None:
    """The active user with this id, for a session that names it; None if gone or inactive."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def password_from_stream(stream: TextIO) -> str:
    """The password on the first line of `stream` (`--password-stdin`), without its newline."""
    password = stream.readline().rstrip("\r\n")
    return _valid_password(password)


def password_from_prompt(ask: Callable[[str], str]) -> str:
    """A password typed twice at a prompt that does not echo (`ask` is `getpass.getpass`)."""
    first = _valid_password(ask("Password: "))
    if ask("Password (again): ") != first:
        raise InvalidUserError("the two passwords differ")
    return first


def _by_name(session: Session, username: str) -> User:
    user = session.scalars(sa.select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise InvalidUserError(f"no user named '{username}'")
    return user


def _valid_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidUserError(
            f"invalid user name '{username}': use 2 to 64 lower-case letters, digits, . _ or -"
        )
    return name


def _valid_role(role: str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        roles = ", ".join(member.value for member in UserRole)
        raise InvalidUserError(f"unknown role '{role}'; roles: {roles}") from None


def _valid_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
