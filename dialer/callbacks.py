"""The callback log: every Twilio callback is stored as received, then applied.

`record_event` commits the raw form fields before anything else happens (invariant 3, "lose
nothing"); `apply_event` then applies the event and sets `applied_at` in one transaction of its
own. A crash or an error in between leaves the event stored and unapplied, and
`apply_pending_events` replays it. A callback delivered twice is stored twice; applying the
second copy is a no-op because the attempt's state only moves forward (`dialer.outcomes`), and
an event is applied at most once even when a replay races the request that stored it (the
event row is locked and `applied_at` re-read).

Each kind of event has an applier, called with the event's attempt (entry and attempt rows
locked, in that order). The IVR's webhooks (voice, gather, hold, queue) slot in by adding their
kind to `EventKind` and their applier to `_APPLIERS`. An event whose attempt cannot be found
(an unknown CallSid) is marked applied with no effect: there is nothing to apply it to.

Which attempt an event belongs to: the one whose `call_sid` is the event's CallSid; failing
that, the attempt named by the webhook URL (`attempt_id`), when it has no CallSid yet. The
latter covers a callback that overtakes the dispatcher's recording of the CallSid after the
create request; the attempt then adopts the CallSid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.models import Attempt, CallEvent, CallListEntry, CallStatus
from dialer.outcomes import StatusReport, apply_status, note_answered_by
from dialer.wallclock import require_aware

logger = logging.getLogger(__name__)

_MAX_INT: Final = 2**31 - 1
_CALL_SID_LENGTH: Final = 64
_KIND_LENGTH: Final = 16


class EventKind(StrEnum):
    """Which webhook received the callback; stored in `call_events.kind`."""

    STATUS = "status"
    AMD = "amd"


class UnknownEventKindError(LookupError):
    """No applier exists for a stored event's kind: the event stays unapplied until one does."""


Applier = Callable[[Session, Config, CallEvent, Attempt, datetime], None]


@dataclass(frozen=True)
class Replay:
    """What `apply_pending_events` did."""

    applied: int
    failed: int


def record_event(
    session: Session,
    kind: str,
    params: Mapping[str, str],
    *,
    now: datetime,
    attempt_id: int | None = None,
) -> CallEvent:
    """Store one callback with all its form fields, as received at `now`, and commit.

    `attempt_id` is the attempt the webhook URL names, if it names one. Call with no
    transaction open on `session`.
    """
    require_aware(now)
    if len(kind) > _KIND_LENGTH:
        raise ValueError(f"event kind longer than {_KIND_LENGTH} characters: {kind!r}")
    payload = dict(params)
    call_sid = _call_sid(payload)
    with session.begin():
        event = CallEvent(
            kind=kind,
            call_sid=call_sid,
            attempt_id=_attempt_id(session, call_sid, attempt_id),
            sequence_number=_integer(payload.get("SequenceNumber")),
            payload=payload,
            received_at=now,
        )
        session.add(event)
    return event


def apply_event(session: Session, config: Config, event: CallEvent, *, now: datetime) -> bool:
    """Apply a stored event and mark it applied, in one transaction; False when it had
    already been applied. On an error nothing is kept and the event stays unapplied.

    Call with no transaction open on `session`.
    """
    require_aware(now)
    identity = sa.inspect(event).identity
    if identity is None:
        raise ValueError("the event has not been stored: record it first")
    return _apply(session, config, int(identity[0]), now)


def apply_pending_events(
    session: Session, config: Config, *, now: datetime, limit: int = 1000
) -> Replay:
    """Apply the oldest `limit` events that were stored but never applied (a crash, or an error
    while applying), in the order received. An event that fails again is logged and left for
    the next run; the others are still applied."""
    require_aware(now)
    with session.begin():
        pending = sa.select(CallEvent.id).where(CallEvent.applied_at.is_(None))
        event_ids = list(session.scalars(pending.order_by(CallEvent.id).limit(limit)))
    applied = failed = 0
    for event_id in event_ids:
        try:
            if _apply(session, config, event_id, now):
                applied += 1
        except Exception:
            logger.exception("event %s could not be applied; it stays pending", event_id)
            failed += 1
    return Replay(applied=applied, failed=failed)


def _apply(session: Session, config: Config, event_id: int, now: datetime) -> bool:
    with session.begin():
        event = session.scalars(_locked(sa.select(CallEvent).where(CallEvent.id == event_id))).one()
        if event.applied_at is not None:
            return False
        applier = _APPLIERS.get(event.kind)
        if applier is None:
            raise UnknownEventKindError(f"event {event.id}: nothing applies kind {event.kind!r}")
        attempt = _locked_attempt(session, event)
        if attempt is None:
            logger.warning(
                "event %s (%s): no attempt for CallSid %s; stored without effect",
                event.id,
                event.kind,
                event.call_sid,
            )
        else:
            applier(session, config, event, attempt, now)
        event.applied_at = now
    return True


def _locked_attempt(session: Session, event: CallEvent) -> Attempt | None:
    """The event's attempt, its entry and then itself locked and re-read; None when unknown."""
    attempt_id = _attempt_id(session, event.call_sid, event.attempt_id)
    if attempt_id is None:
        return None
    entry_of_attempt = sa.select(Attempt.entry_id).where(Attempt.id == attempt_id)
    session.execute(
        _locked(
            sa.select(CallListEntry).where(CallListEntry.id == entry_of_attempt.scalar_subquery())
        )
    )
    attempt = session.scalars(
        _locked(sa.select(Attempt).where(Attempt.id == attempt_id))
    ).one_or_none()
    if attempt is not None and attempt.call_sid is None and event.call_sid is not None:
        logger.info(
            "attempt %s adopts CallSid %s from event %s", attempt.id, event.call_sid, event.id
        )
        attempt.call_sid = event.call_sid
    return attempt


def _attempt_id(session: Session, call_sid: str | None, named_id: int | None) -> int | None:
    """The attempt with this CallSid, else the named attempt if it has no CallSid yet."""
    if call_sid is not None:
        by_sid = session.scalar(sa.select(Attempt.id).where(Attempt.call_sid == call_sid))
        if by_sid is not None:
            return by_sid
    if named_id is None:
        return None
    named_sid = session.execute(
        sa.select(Attempt.call_sid).where(Attempt.id == named_id)
    ).one_or_none()
    if named_sid is None or named_sid.call_sid is not None:
        return None
    return named_id


def _locked(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.with_for_update().execution_options(populate_existing=True)


def _apply_status(
    session: Session, config: Config, event: CallEvent, attempt: Attempt, now: datetime
) -> None:
    report = _status_report(event)
    if report is None:
        logger.warning("event %s: no known CallStatus; stored without effect", event.id)
        return
    if not apply_status(session, config, attempt, report, now=now):
        logger.info(
            "event %s: %s for attempt %s (now %s) is late or a duplicate; no change",
            event.id,
            report.status,
            attempt.id,
            attempt.status,
        )


def _apply_amd(
    session: Session, config: Config, event: CallEvent, attempt: Attempt, now: datetime
) -> None:
    answered_by = event.payload.get("AnsweredBy")
    if not note_answered_by(attempt, answered_by if isinstance(answered_by, str) else None):
        return
    if attempt.outcome is not None:
        # The outcome was settled when the call ended; the verdict is kept for the record only.
        logger.info(
            "event %s: AnsweredBy %s came after attempt %s ended as %s; outcome kept",
            event.id,
            answered_by,
            attempt.id,
            attempt.outcome,
        )


_APPLIERS: Final[Mapping[str, Applier]] = {
    EventKind.STATUS: _apply_status,
    EventKind.AMD: _apply_amd,
}


def _status_report(event: CallEvent) -> StatusReport | None:
    payload = event.payload
    try:
        status = CallStatus(str(payload.get("CallStatus")))
    except ValueError:
        return None
    answered_by = payload.get("AnsweredBy")
    return StatusReport(
        status=status,
        sequence_number=event.sequence_number,
        answered_by=answered_by if isinstance(answered_by, str) and answered_by else None,
        duration_seconds=_integer(payload.get("CallDuration")),
        error_code=_integer(payload.get("ErrorCode")),
        sip_response_code=_integer(payload.get("SipResponseCode")),
        ended_at=event.received_at,
    )


def _call_sid(payload: Mapping[str, str]) -> str | None:
    """The CallSid for the indexed column; an absurdly long one stays in the payload only."""
    call_sid = payload.get("CallSid") or None
    return call_sid if call_sid is not None and len(call_sid) <= _CALL_SID_LENGTH else None


def _integer(value: object) -> int | None:
    """A non-negative integer field as Twilio sends it (decimal text), if it is one."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= _MAX_INT else None
