"""Calls the dialer places to operators, to bridge them to callers waiting in a hold queue.

An operator call is stored (and committed) before the REST request that places it, like an
attempt: `call_sid` and `status` are None until the provider has acknowledged the call. The
operator's leg dials the campaign's queue (`<Dial><Queue>`); `attempt_id` names the caller it
was bridged to, and stays None for a call that found nobody or never connected. A call is live
while it has no final status and no `ended_at`; an operator with a live call is not free.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import Base
from dialer.models.calls import CallStatus
from dialer.models.pacing import live_attempt_condition
from dialer.models.types import BigIntegerId, UTCDateTime, enum_type


def live_operator_call_condition() -> sa.TextClause:
    """Operator calls that may still hold the operator, as SQL text (the partial index's)."""
    return live_attempt_condition()


class OperatorCall(Base):
    """One call to an operator's phone, placed to take a caller off a campaign's queue."""

    __tablename__ = "operator_calls"
    __table_args__ = (
        sa.Index(
            "ix_operator_calls_live",
            "campaign_id",
            "started_at",
            postgresql_where=live_operator_call_condition(),
            sqlite_where=live_operator_call_condition(),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    #: An id of campaigns.yaml's `operators`.
    operator_id: Mapped[str] = mapped_column(sa.String(64))
    #: Whose queue the operator's leg dials (the queue is named after the campaign).
    campaign_id: Mapped[str] = mapped_column(sa.String(64))
    call_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[CallStatus | None] = mapped_column(enum_type(CallStatus, "call_status"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The caller the operator was bridged to.
    attempt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attempts.id", ondelete="SET NULL"), index=True
    )
    error_code: Mapped[int | None]
