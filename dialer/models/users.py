"""Dashboard accounts: who may log in, with which role.

Passwords are stored as salted scrypt hashes (`dialer.users`), never in clear. An account is
deactivated rather than deleted, so that the names on past notes, pauses and DNC removals keep
pointing at someone.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import Base, Timestamped
from dialer.models.types import UTCDateTime, enum_type


class UserRole(enum.StrEnum):
    """What an account may do on the dashboard.

    supervisor: everything (KPIs, pause/resume, call log, DNC removal, full phone numbers);
    operator: their own calls, customer pages, adding to the DNC list.
    """

    SUPERVISOR = "supervisor"
    OPERATOR = "operator"


class User(Timestamped, Base):
    """One person who logs in to the dashboard."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The login name; for an operator, the same id as in campaigns.yaml's `operators`, so
    #: that the calls they take (`attempts.operator_id`) are theirs.
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[UserRole] = mapped_column(enum_type(UserRole, "user_role"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
