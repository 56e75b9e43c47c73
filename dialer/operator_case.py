"""What an operator needs on screen for one call, and the calls still waiting for a disposition.

A call reaches an operator when the customer pressed the agent key and then did not leave the
hold queue without being answered: while the call is live (waiting or talking, Twilio only
reports the QueueResult when the call ends) or once it ended `bridged`. An attempt assigned to
an operator (`Attempt.operator_id`) reached them in any case.

An operator handles the calls assigned to them, and the unassigned ones of the campaigns whose
queues they serve (campaigns.yaml `operators`); supervisors handle every call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config, Script
from dialer.campaigns.schema import DEFAULT_TIMEZONE
from dialer.customer_history import CustomerHistory, customer_history
from dialer.errors import DialerError, UnknownCampaignError
from dialer.models import Attempt, CallStatus, Customer
from dialer.outcome_codes import Outcome
from dialer.pacing import BRIDGED_RESULTS, asked_for_operator, live_attempts
from dialer.read_only import read_only
from dialer.wallclock import require_aware

__all__ = [
    "AWAITING_HORIZON",
    "AwaitingCall",
    "CaseAttempt",
    "OperatorCase",
    "UnknownAttemptError",
    "awaiting_disposition",
    "handles",
    "operator_case",
]

#: How far back the list of calls awaiting a disposition looks.
AWAITING_HORIZON: Final = timedelta(days=7)
AWAITING_LIMIT: Final = 100


class UnknownAttemptError(DialerError):
    """No attempt has this id."""


@dataclass(frozen=True)
class CaseAttempt:
    """The call the operator is dispositioning."""

    id: int
    campaign_id: str
    customer_external_id: str
    attempt_number: int
    phone: str
    started_at: datetime
    ended_at: datetime | None
    status: CallStatus | None
    outcome: str | None
    queue_result: str | None
    operator_id: str | None
    disposition: str | None
    dispositioned_at: datetime | None
    dispositioned_by: str | None
    callback_at: datetime | None
    notes: str | None
    live: bool


@dataclass(frozen=True)
class OperatorCase:
    """One call with its customer's whole history and the campaign's script.

    `campaign_name`, `script` and `last_day` are None when the campaign is not (or no longer)
    configured; the times of the case read in `timezone`."""

    attempt: CaseAttempt
    history: CustomerHistory
    campaign_name: str | None
    purpose: str | None
    script: Script | None
    timezone: ZoneInfo
    last_day: date | None


@dataclass(frozen=True)
class AwaitingCall:
    """A call that reached an operator and has no disposition yet."""

    attempt_id: int
    campaign_id: str
    customer_external_id: str
    customer_name: str
    customer_kana: str | None
    started_at: datetime
    queue_result: str | None
    operator_id: str | None
    live: bool


def handles(
    config: Config | None, attempt_operator: str | None, campaign_id: str, user: str
) -> bool:
    """Whether the operator `user` handles a call of `campaign_id` assigned to
    `attempt_operator` (see the module docstring)."""
    if attempt_operator is not None:
        return attempt_operator == user
    return campaign_id in _served_campaigns(config, user)


def operator_case(
    session: Session, config: Config | None, attempt_id: int, *, now: datetime
) -> OperatorCase:
    """The case of attempt `attempt_id`; `UnknownAttemptError` if there is none.

    Read only; the transaction it opens is closed again."""
    require_aware(now)
    with read_only(session):
        row = session.execute(
            sa.select(
                *(getattr(Attempt, name) for name in _ATTEMPT_COLUMNS),
                Customer.external_id.label("customer_external_id"),
                live_attempts(now).label("live"),
            )
            .join(Customer, Customer.id == Attempt.customer_id)
            .where(Attempt.id == attempt_id)
        ).one_or_none()
        if row is None:
            raise UnknownAttemptError(f"no attempt {attempt_id}")
        attempt = CaseAttempt(**{name: getattr(row, name) for name in _CASE_FIELDS})
        history = customer_history(session, attempt.customer_external_id, now=now)
    return _case(config, attempt, history)


def awaiting_disposition(
    session: Session,
    config: Config | None,
    *,
    now: datetime,
    operator: str | None,
    horizon: timedelta = AWAITING_HORIZON,
    limit: int = AWAITING_LIMIT,
) -> tuple[AwaitingCall, ...]:
    """Calls of the last `horizon` that reached an operator and lack a disposition, newest
    first: those `operator` handles, or every one when `operator` is None (a supervisor).

    Read only; the transaction it opens is closed again."""
    require_aware(now)
    live = live_attempts(now)
    agent_key = asked_for_operator()
    reached_operator = sa.or_(
        Attempt.operator_id.is_not(None),
        sa.and_(
            agent_key,
            sa.or_(
                Attempt.queue_result.in_(BRIDGED_RESULTS),
                sa.and_(Attempt.queue_result.is_(None), live),
            ),
        ),
    )
    conditions = [
        Attempt.started_at >= now - horizon,
        Attempt.disposition.is_(None),
        sa.or_(Attempt.outcome.is_(None), Attempt.outcome == Outcome.HUMAN.value),
        reached_operator,
    ]
    if operator is not None:
        conditions.append(_handled_by(config, operator))
    query = (
        sa.select(
            Attempt.id.label("attempt_id"),
            Attempt.campaign_id,
            Customer.external_id.label("customer_external_id"),
            Customer.name.label("customer_name"),
            Customer.name_kana.label("customer_kana"),
            Attempt.started_at,
            Attempt.queue_result,
            Attempt.operator_id,
            live.label("live"),
        )
        .join(Customer, Customer.id == Attempt.customer_id)
        .where(*conditions)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(limit)
    )
    with read_only(session):
        rows = session.execute(query).all()
    return tuple(AwaitingCall(**{**row._asdict(), "live": bool(row.live)}) for row in rows)


_CASE_FIELDS: Final = tuple(CaseAttempt.__dataclass_fields__)
_ATTEMPT_COLUMNS: Final = tuple(
    name for name in _CASE_FIELDS if name not in ("customer_external_id", "live")
)


def _case(config: Config | None, attempt: CaseAttempt, history: CustomerHistory) -> OperatorCase:
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    if config is not None:
        zone = ZoneInfo(config.company.timezone)
        try:
            campaign = config.campaign(attempt.campaign_id)
        except UnknownCampaignError:
            pass
        else:
            return OperatorCase(
                attempt=attempt,
                history=history,
                campaign_name=campaign.name,
                purpose=campaign.purpose or None,
                script=campaign.script,
                timezone=config.timezone_of(campaign),
                last_day=campaign.dates.last if campaign.dates else None,
            )
    return OperatorCase(
        attempt=attempt,
        history=history,
        campaign_name=None,
        purpose=None,
        script=None,
        timezone=zone,
        last_day=None,
    )


def _served_campaigns(config: Config | None, user: str) -> frozenset[str]:
    if config is None:
        return frozenset()
    return frozenset(
        queue for operator in config.operators if operator.id == user for queue in operator.queues
    )


def _handled_by(config: Config | None, user: str) -> sa.ColumnElement[bool]:
    served: Collection[str] = sorted(_served_campaigns(config, user))
    return sa.or_(
        Attempt.operator_id == user,
        sa.and_(Attempt.operator_id.is_(None), Attempt.campaign_id.in_(served)),
    )
