"""The shared call limiter: one row per pacing scope, read and written under a row lock.

Calls per second are held as a schedule of slots (a leaky bucket, GCRA-style): `next_slot_at` is
the earliest instant the scope may release its next call. Whoever takes a slot moves it on by
1/cps, so workers on any number of machines share one schedule and never need a clock of their
own beyond the instant they pass in. Concurrent calls need no row here: they are counted from
the attempts themselves.

Scopes are `account` (the Twilio account's limit) and `campaign:<id>`. Rows appear the first time
a scope is used; a scope with no row has never dialled.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import Base
from dialer.models.calls import Attempt, CallStatus
from dialer.models.types import UTCDateTime

ACCOUNT_SCOPE = "account"


def campaign_scope(campaign_id: str) -> str:
    """The scope key of one campaign's own limits."""
    return f"campaign:{campaign_id}"


class PacingScope(Base):
    """The slot schedule of one scope, and how often in a row the provider has pushed back.

    `failures` counts consecutive refusals of the provider (rate limit, outage) since the last
    call it accepted; the dispatcher doubles its backoff with each one.
    """

    __tablename__ = "pacing_scopes"
    __table_args__ = (sa.CheckConstraint("failures >= 0", name="failures_not_negative"),)

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(default=0, server_default="0")


#: Call statuses before the end of a call; an attempt whose status is NULL has not been
#: acknowledged by the provider yet and is live too.
LIVE_STATUSES = tuple(status.value for status in CallStatus if not status.is_final)


def live_attempt_condition(qualifier: str = "") -> sa.TextClause:
    """Attempts that may still hold a line, as SQL text with the statuses written out.

    Literal text rather than bound parameters, so that both engines see a query repeating this
    condition as covered by the partial index below. `qualifier` prefixes the column names
    ("attempts.") in queries that join other tables.
    """
    statuses = ", ".join(f"'{status}'" for status in LIVE_STATUSES)
    return sa.text(
        f"{qualifier}ended_at IS NULL"
        f" AND ({qualifier}status IS NULL OR {qualifier}status IN ({statuses}))"
    )


#: Attempts in flight: the concurrency limits count them at every dispatch tick, and
#: reconciliation looks for stuck ones among them. The partial index keeps both reads
#: proportional to the calls in flight rather than to the whole call history.
live_attempts_index = sa.Index(
    "ix_attempts_live",
    Attempt.__table__.c.campaign_id,
    Attempt.__table__.c.started_at,
    postgresql_where=live_attempt_condition(),
    sqlite_where=live_attempt_condition(),
)
