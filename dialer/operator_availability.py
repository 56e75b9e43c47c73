"""Which operators can take a caller now: the operator bridge calls them, the pacing counts them.

An operator is busy while an operator call of theirs is live: bridged to a caller for as long
as a call may last, not yet bridged for as long as ringing and waiting may take
(`UNBRIDGED_HORIZON`, after which its lost status callbacks no longer hold them). One whose
number the provider refused a moment ago is left alone for `REJECTED_COOLDOWN`, since calling
again would fail the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.models import OperatorCall
from dialer.models.operators import live_operator_call_condition
from dialer.pacing import LIVE_HORIZON

#: An operator call not bridged after this long no longer counts as serving a caller, nor
#: holds its operator (its status callbacks were lost): ringing and waiting take far less.
UNBRIDGED_HORIZON: Final = timedelta(minutes=15)
#: How long an operator whose number the provider refused is left alone.
REJECTED_COOLDOWN: Final = timedelta(minutes=10)


def live_operator_calls(now: datetime) -> sa.ColumnElement[bool]:
    """Operator calls still holding their operator at `now`."""
    return sa.and_(
        live_operator_call_condition(),
        sa.or_(
            sa.and_(
                OperatorCall.attempt_id.is_not(None), OperatorCall.started_at > now - LIVE_HORIZON
            ),
            OperatorCall.started_at > now - UNBRIDGED_HORIZON,
        ),
    )


def unavailable_operators(session: Session, now: datetime) -> set[str]:
    """Operators on a live call, or whose number was refused a moment ago (a call with an
    error code and no CallSid: the provider refused to create it)."""
    refused = sa.and_(
        OperatorCall.error_code.is_not(None),
        OperatorCall.call_sid.is_(None),
        OperatorCall.ended_at > now - REJECTED_COOLDOWN,
    )
    query = sa.select(OperatorCall.operator_id).where(sa.or_(live_operator_calls(now), refused))
    return set(session.scalars(query.distinct()))
