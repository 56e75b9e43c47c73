"""Notes that operators and supervisors write on a customer, optionally about one call.

Append-only: a note is never edited, so the history on the customer page is what was written
at the time. Attempt notes written with the disposition (`attempts.notes`) stay on the attempt;
these are the free notes added from the customer page.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import NOW, Base
from dialer.models.types import BigIntegerId, UTCDateTime


class CustomerNote(Base):
    """One note on a customer."""

    __tablename__ = "customer_notes"
    __table_args__ = (
        sa.Index("ix_customer_notes_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    #: The call the note is about, if any; the note outlives the attempt's deletion.
    attempt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attempts.id", ondelete="SET NULL")
    )
    #: The dashboard user who wrote it.
    author: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
