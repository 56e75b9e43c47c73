"""Indexes for the dashboard's read models, on tables other modules own.

- `ix_attempts_started_at_id`: the call log's newest-first keyset page (started_at, id) and
  every "since midnight" / "last 30 days" aggregate over all campaigns.
- `ix_attempts_operator_id_started_at`: an operator's own calls, newest first.
- `ix_call_list_entries_campaign_id_state`: list size and remaining per campaign, counted
  from the index alone.
- `ix_attempts_phone_tail`: the call log's search by a number's last four digits (下4桁), on
  `phone_tail(Attempt.phone)`; the query must repeat the expression exactly, as it does by
  calling `phone_tail`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from dialer.models.calls import Attempt, CallListEntry

#: How many trailing digits `ix_attempts_phone_tail` indexes.
PHONE_TAIL_DIGITS = 4


def phone_tail(phone: sa.ColumnElement[str] | InstrumentedAttribute[str]) -> sa.ColumnElement[str]:
    """The last `PHONE_TAIL_DIGITS` characters, written the same way on SQLite and PostgreSQL
    (the offset a literal, not a parameter, so both engines match the indexed expression)."""
    offset: sa.ColumnElement[int] = sa.literal_column(str(PHONE_TAIL_DIGITS - 1))
    return sa.func.substr(phone, sa.func.length(phone) - offset)


_attempts = Attempt.__table__.c
_entries = CallListEntry.__table__.c

#: Declared here so that the models, and so the migration check, know them.
REPORTING_INDEXES = (
    sa.Index("ix_attempts_started_at_id", _attempts.started_at, _attempts.id),
    sa.Index("ix_attempts_operator_id_started_at", _attempts.operator_id, _attempts.started_at),
    sa.Index("ix_call_list_entries_campaign_id_state", _entries.campaign_id, _entries.state),
    sa.Index("ix_attempts_phone_tail", phone_tail(_attempts.phone), _attempts.started_at),
)
