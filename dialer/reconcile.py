"""Reconciliation: make the attempts agree with the calls the provider really placed.

An attempt row is committed before its create request (DESIGN.md, invariant 2), so after a
timeout, a dropped connection, a 5xx or a crash, the row may lack the CallSid of a call that
exists, or describe a call that never did. Before anything is retried, the provider is asked:

- An attempt without a CallSid: list the calls to its number since it began (less `CLOCK_SKEW`)
  and adopt the first one from its caller id that no other attempt owns. None: the call was
  never placed, and the attempt is released (below).
- An attempt with a CallSid but no final status long after its call must have ended (a lost
  status callback): fetch the call and apply what the provider says, through
  `dialer.outcomes.apply_status`, exactly as a status callback would.

A released attempt ends with outcome `canceled` and no CallSid, status or duration: the system
gave it up before any call existed. `dialer.outcomes` does not count canceled attempts against
`max_attempts`, and makes the entry due again at its next open instant, or later when the
dispatcher asks for a backoff.

Rows are locked entry first, then attempt, like every other writer (`dialer.outcomes`). No
provider request is ever made inside a transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dialer.campaigns import Config
from dialer.log import log_event
from dialer.models import Attempt, CallListEntry, CallStatus, EntryState
from dialer.models.pacing import LIVE_STATUSES, live_attempt_condition
from dialer.outcome_codes import Outcome
from dialer.outcomes import StatusReport, apply_status, finish_attempt
from dialer.telephony import CallInfo, RejectedError, TelephonyError, TelephonyProvider
from dialer.wallclock import require_aware

logger = logging.getLogger(__name__)

#: How far before an attempt's start its call may appear to have been created: our clock and
#: the provider's may disagree, and the provider's times have whole seconds.
CLOCK_SKEW: Final = timedelta(seconds=60)
#: An attempt this old without a CallSid has no worker left waiting on its create request
#: (which times out in seconds): reconciliation may settle it.
UNPLACED_AFTER: Final = timedelta(seconds=60)
#: A call this old without a final status has rung out long ago; if it is still live it is in
#: conversation, and the fetch says so.
UNFINISHED_AFTER: Final = timedelta(minutes=3)
#: Attempts settled per run, oldest first; the rest wait for the next run.
BATCH: Final = 200

_LIVE: Final = live_attempt_condition("attempts.")


@dataclass(frozen=True)
class AttemptRef:
    """What reconciling one attempt needs, read before any provider request is made."""

    id: int
    phone: str
    caller_id: str | None
    started_at: datetime
    call_sid: str | None


@dataclass(frozen=True)
class ReconcileResult:
    """What one run settled; `unreachable` attempts wait for the next run, and
    `settled_elsewhere` ones were settled by a callback or a worker meanwhile."""

    adopted: int = 0
    released: int = 0
    updated: int = 0
    still_live: int = 0
    settled_elsewhere: int = 0
    unreachable: int = 0


def reconcile(
    session_factory: sessionmaker[Session],
    config: Config,
    provider: TelephonyProvider,
    *,
    now: datetime,
    unplaced_after: timedelta = UNPLACED_AFTER,
    unfinished_after: timedelta = UNFINISHED_AFTER,
) -> ReconcileResult:
    """Settle the attempts a crash, a timeout or a lost callback left behind."""
    require_aware(now)
    with session_factory() as session:
        unplaced, unfinished = _stuck_attempts(session, now, unplaced_after, unfinished_after)
    counts = dict.fromkeys(
        ("adopted", "released", "updated", "still_live", "settled_elsewhere", "unreachable"), 0
    )
    for position, attempt in enumerate([*unplaced, *unfinished]):
        try:
            outcome = _settle(session_factory, config, provider, attempt, now)
        except RejectedError as error:
            # This attempt's request is refused (a CallSid Twilio does not know): skip it.
            _log_unreachable(attempt, error)
            counts["unreachable"] += 1
            continue
        except TelephonyError as error:
            # Twilio cannot be asked now; the rest waits for the next run.
            _log_unreachable(attempt, error)
            counts["unreachable"] += len(unplaced) + len(unfinished) - position
            break
        counts[outcome] += 1
    result = ReconcileResult(**counts)
    if unplaced or unfinished:
        log_event(logger, "reconciled", **vars(result))
    return result


def _settle(
    session_factory: sessionmaker[Session],
    config: Config,
    provider: TelephonyProvider,
    attempt: AttemptRef,
    now: datetime,
) -> str:
    """Ask the provider about one attempt and record the answer; which count it adds to."""
    if attempt.call_sid is None:
        call = find_call(session_factory, provider, attempt)
        with session_factory() as session, session.begin():
            if call is None:
                released = release(session, config, attempt.id, now=now)
                return "released" if released else "settled_elsewhere"
            apply_call(session, config, attempt.id, call, now=now)
            return "adopted"
    call = provider.fetch_call(attempt.call_sid)
    if not call.is_final:
        return "still_live"
    with session_factory() as session, session.begin():
        apply_call(session, config, attempt.id, call, now=now)
    return "updated"


def _stuck_attempts(
    session: Session, now: datetime, unplaced_after: timedelta, unfinished_after: timedelta
) -> tuple[list[AttemptRef], list[AttemptRef]]:
    columns = (
        Attempt.id,
        Attempt.phone,
        Attempt.caller_id,
        Attempt.started_at,
        Attempt.call_sid,
    )
    with session.begin():
        unplaced = session.execute(
            sa.select(*columns)
            .where(_LIVE, Attempt.call_sid.is_(None), Attempt.started_at < now - unplaced_after)
            .order_by(Attempt.started_at)
            .limit(BATCH)
        ).all()
        unfinished = session.execute(
            sa.select(*columns)
            .where(
                _LIVE, Attempt.call_sid.is_not(None), Attempt.started_at < now - unfinished_after
            )
            .order_by(Attempt.started_at)
            .limit(BATCH)
        ).all()
    return [AttemptRef(*row) for row in unplaced], [AttemptRef(*row) for row in unfinished]


def find_call(
    session_factory: sessionmaker[Session], provider: TelephonyProvider, attempt: AttemptRef
) -> CallInfo | None:
    """The provider's call for an attempt whose create request went unanswered, if it exists.

    Raises `TelephonyError` when the provider cannot be asked; then nothing may be retried.
    """
    calls = provider.list_calls(attempt.phone, attempt.started_at - CLOCK_SKEW)
    mine = [call for call in calls if attempt.caller_id is None or call.from_ == attempt.caller_id]
    if not mine:
        return None
    with session_factory() as session, session.begin():
        owned = set(
            session.scalars(
                sa.select(Attempt.call_sid).where(
                    Attempt.call_sid.in_([call.sid for call in mine]), Attempt.id != attempt.id
                )
            )
        )
    free = [call for call in mine if call.sid not in owned]
    if len(free) > 1:
        log_event(
            logger,
            "several_calls_found",
            level=logging.WARNING,
            attempt_id=attempt.id,
            call_sids=[call.sid for call in free],
        )
    return free[0] if free else None


def apply_call(
    session: Session, config: Config, attempt_id: int, call: CallInfo, *, now: datetime
) -> bool:
    """Record the provider's call on the attempt (its CallSid, its status if that moves it
    forward, the outcome if the call has ended), in the caller's transaction.

    False when the attempt already belongs to another call, or nothing changed.
    """
    attempt = locked_attempt(session, attempt_id)
    if attempt.call_sid is not None and attempt.call_sid != call.sid:
        log_event(
            logger,
            "call_sid_conflict",
            level=logging.ERROR,
            attempt_id=attempt.id,
            call_sid=attempt.call_sid,
            offered=call.sid,
        )
        return False
    adopted = attempt.call_sid is None
    attempt.call_sid = call.sid
    try:
        status = CallStatus(call.status)
    except ValueError:
        log_event(logger, "unknown_call_status", level=logging.WARNING, status=call.status)
        return adopted
    report = StatusReport(
        status=status,
        answered_by=call.answered_by,
        duration_seconds=call.duration,
        ended_at=call.end_time,
    )
    return apply_status(session, config, attempt, report, now=now) or adopted


def record_created_call(session: Session, attempt_id: int, call: CallInfo) -> bool:
    """Record the answer to a create on an attempt nothing else has touched yet, in one
    statement; False when a callback got there first or the call has already ended, and
    `apply_call` must decide instead.

    The dispatcher's common case, kept to one UPDATE: an attempt without CallSid or status can
    only move forward to whatever live status the create returned.
    """
    if call.is_final or call.status not in LIVE_STATUSES:
        return False
    updated = session.execute(
        sa.update(Attempt)
        .where(
            Attempt.id == attempt_id,
            Attempt.call_sid.is_(None),
            Attempt.status.is_(None),
            Attempt.outcome.is_(None),  # not given up while the create was on its way
        )
        .values(call_sid=call.sid, status=CallStatus(call.status))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(updated, "rowcount", 0))


def is_given_up(session: Session, attempt_id: int) -> bool:
    """Whether the attempt was ended without a call (released by reconciliation or the tick):
    a call created for it now belongs to nobody, and its entry may already be dialled again."""
    attempt = locked_attempt(session, attempt_id)
    return attempt.call_sid is None and attempt.outcome is not None


def release(
    session: Session,
    config: Config,
    attempt_id: int,
    *,
    now: datetime,
    retry_at: datetime | None = None,
    error_code: int | None = None,
) -> bool:
    """End an attempt whose call was never placed, and make its entry due again.

    The entry follows the retry policy for a canceled attempt (due at its next open instant),
    but not before `retry_at`. False when the attempt had a call or an outcome already.
    """
    attempt = locked_attempt(session, attempt_id)
    if attempt.call_sid is not None or attempt.outcome is not None:
        return False
    finish_attempt(
        session, config, attempt, outcome=Outcome.CANCELED, error_code=error_code, now=now
    )
    entry = session.get_one(CallListEntry, attempt.entry_id)
    if (
        retry_at is not None
        and entry.state is EntryState.PENDING
        and entry.next_attempt_at is not None
        and entry.next_attempt_at < retry_at
    ):
        entry.next_attempt_at = retry_at
    return True


def locked_attempt(session: Session, attempt_id: int) -> Attempt:
    """The attempt, re-read and locked after its entry (the order every writer follows)."""
    entry_id = sa.select(Attempt.entry_id).where(Attempt.id == attempt_id).scalar_subquery()
    session.execute(
        sa.select(CallListEntry.id).where(CallListEntry.id == entry_id).with_for_update()
    )
    return session.scalars(
        sa.select(Attempt)
        .where(Attempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _log_unreachable(attempt: AttemptRef, error: TelephonyError) -> None:
    log_event(
        logger,
        "reconcile_deferred",
        level=logging.WARNING,
        attempt_id=attempt.id,
        error=type(error).__name__,
        detail=str(error),
    )
