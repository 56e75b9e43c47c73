"""The company's do-not-call list (Japan has no national registry: each company keeps its own).

An entry names a number, a customer, or both. Entries are never deleted: lifting one sets
`removed_at`, `removed_by` and `removed_reason`, so that "why was this refused person called
again?" always has an answer. A refusal (特定商取引法 第17条) is recorded with both keys when they
are known, so it survives the customer record and a change of number.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import NOW, Base
from dialer.models.types import UTCDateTime, enum_type


class DncSource(enum.StrEnum):
    """Who put the entry on the list."""

    IMPORT = "import"  # a CSV from the shop
    IVR = "ivr"  # the customer pressed the opt-out key
    OPERATOR = "operator"  # dispositioned as refused after a conversation
    SUPERVISOR = "supervisor"  # added by hand on the dashboard


class DncEntry(Base):
    """One do-not-call entry; active while not removed and not expired."""

    __tablename__ = "dnc_entries"
    __table_args__ = (
        sa.CheckConstraint("phone IS NOT NULL OR customer_id IS NOT NULL", name="has_key"),
        sa.CheckConstraint(
            "removed_at IS NULL OR (removed_by IS NOT NULL AND removed_reason IS NOT NULL)",
            name="removal_audited",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: E.164.
    phone: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    #: RESTRICT: a customer on the list cannot be deleted by accident, taking the refusal along.
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[DncSource] = mapped_column(enum_type(DncSource, "dnc_source"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    #: Operator or supervisor id; None for imports and the IVR.
    added_by: Mapped[str | None] = mapped_column(sa.String(100))
    #: None: for good. Refusals never expire.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(sa.String(100))
    removed_reason: Mapped[str | None] = mapped_column(sa.String(200))

    @classmethod
    def active_at(cls, now: datetime) -> sa.ColumnElement[bool]:
        """SQL condition for entries in force at `now`, the one definition every query shares."""
        return sa.and_(
            cls.removed_at.is_(None),
            sa.or_(cls.expires_at.is_(None), cls.expires_at > now),
        )

    def is_active_at(self, now: datetime) -> bool:
        """The same rule as `active_at`, for a loaded row."""
        return self.removed_at is None and (self.expires_at is None or self.expires_at > now)
