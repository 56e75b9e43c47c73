"""The callback log: every Twilio callback is stored as received, then applied.

A webhook hands its callback to `receive_event`, which stores the raw form fields, applies them
and marks the event applied, all in one transaction, so nothing is ever applied that is not
stored with it (invariant 3, "lose nothing"). When applying fails (an error in the applier, a
campaigns file that never validated, a deadlock) that transaction is rolled back and the event
is stored on its own, unapplied, for `apply_pending_events` to replay: the same outcome as
storing first and applying in a second transaction, for one commit and a handful of round
trips instead of two commits and a dozen. `record_event` (store only, committed) and
`apply_event` (apply a stored event) are the two halves, for the replay and for callers that
need the event committed before they do anything else.

A callback delivered twice is stored twice; applying the second copy is a no-op because the
attempt's state only moves forward (`dialer.outcomes`), and an event is applied at most once:
`receive_event`'s event is invisible to the replay until it commits, applied, and `apply_event`
locks the stored event and re-reads `applied_at`.

Each kind of event has an applier, called with the event's attempt (entry and attempt rows
locked, in that order, by one statement). A status callback that can only move a live call
forward (initiated, ringing, in-progress: three of a call's four) takes a shorter way by the
same rules (`_receive_progress`): it locks and updates the attempt's row alone, without loading
objects, as it never touches the entry. The IVR's webhooks (voice, gather, hold, queue) slot
in by adding their kind to `EventKind` and their applier to `_APPLIERS`. An event whose attempt
cannot be found (an unknown CallSid) is marked applied with no effect: there is nothing to apply
it to.

Which attempt an event belongs to: the one whose `call_sid` is the event's CallSid; failing
that, the attempt named by the webhook URL (`attempt_id`), when it has no CallSid yet. The
latter covers a callback that overtakes the dispatcher's recording of the CallSid after the
create request; the attempt then adopts the CallSid. `receive_event` resolves and locks the
attempt (with its entry) before it inserts the event: the event row's foreign key takes a share
lock on the attempt, and two callbacks of one call that each took it first would deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from dialer.campaigns import Config
from dialer.log import log_event
from dialer.models import Attempt, CallEvent, CallListEntry, CallStatus
from dialer.outcomes import (
    StatusReport,
    apply_status,
    is_step_forward,
    kept_answer,
    note_answered_by,
)
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


@dataclass(frozen=True)
class Callback:
    """A stored callback as its applier reads it: the row of `call_events`, without the ORM."""

    id: int
    kind: str
    call_sid: str | None
    sequence_number: int | None
    payload: Mapping[str, Any]
    received_at: datetime

    @classmethod
    def of(cls, event: CallEvent) -> Callback:
        return cls(
            event.id,
            event.kind,
            event.call_sid,
            event.sequence_number,
            event.payload,
            event.received_at,
        )


Applier = Callable[[Session, Config, Callback, Attempt, datetime], None]
"""Applies one event to its attempt, which the caller has locked and re-read with its entry
(`_locked_attempt`), so `attempt.entry` is current and locked too."""
_Query = TypeVar("_Query", bound=sa.Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class Receipt:
    """What `receive_event` did: the id of the stored event, and whether it was applied."""

    event_id: int
    applied: bool


@dataclass(frozen=True)
class Replay:
    """What `apply_pending_events` did."""

    applied: int
    failed: int


def receive_event(
    session: Session,
    config: Callable[[], Config],
    kind: str,
    params: Mapping[str, str],
    *,
    now: datetime,
    attempt_id: int | None = None,
) -> Receipt:
    """Store one callback as received at `now` and apply it, in one transaction.

    When applying fails, nothing of it is kept: the error is logged and the event is stored
    alone, unapplied, for the replay (`applied` is then False). `config` is called inside that
    boundary, so a campaigns file that never validated leaves the event stored too; it is not
    called for a progress callback, which needs no campaign. An error while storing is raised.
    Call with no transaction open on `session`.
    """
    require_aware(now)
    payload = _payload(kind, params)
    try:
        with session.begin():
            applier = _applier(kind)
            call_sid = _call_sid(payload)
            progress = _progress_report(kind, payload, now)
            if progress is not None:
                callback = _receive_progress(session, payload, progress, call_sid, attempt_id, now)
            else:
                # Entry and attempt are locked before the event's row refers to the attempt:
                # the foreign key's share lock, taken first, would deadlock two callbacks.
                attempt = _locked_attempt(session, call_sid, attempt_id)
                attempt_of_event = None if attempt is None else attempt.id
                callback = _insert_event(session, kind, payload, now, attempt_of_event)
                _apply_to_attempt(session, config(), applier, callback, attempt, now)
    except Exception:
        # A boundary: the event is stored below, and the replay applies it once the cause is gone.
        log_event(
            logger,
            "callback_not_applied",
            level=logging.ERROR,
            exc_info=True,
            kind=kind,
            call_sid=payload.get("CallSid"),
        )
        stored = record_event(session, kind, payload, now=now, attempt_id=attempt_id)
        return Receipt(stored.id, applied=False)
    return Receipt(callback.id, applied=True)


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
    payload = _payload(kind, params)
    with session.begin():
        parameters = _event_parameters(kind, payload, now, applied=False)
        parameters["named_attempt_id"] = attempt_id
        event_id = session.execute(_STORE_EVENT, parameters).scalar_one()
        return session.get_one(CallEvent, event_id)


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
            log_event(
                logger,
                "event_replay_failed",
                level=logging.ERROR,
                exc_info=True,
                event_id=event_id,
            )
            failed += 1
    return Replay(applied=applied, failed=failed)


def _payload(kind: str, params: Mapping[str, str]) -> dict[str, str]:
    if len(kind) > _KIND_LENGTH:
        raise ValueError(f"event kind longer than {_KIND_LENGTH} characters: {kind!r}")
    return dict(params)


_EVENTS: Final = cast(sa.Table, CallEvent.__table__)
_ATTEMPTS: Final = cast(sa.Table, Attempt.__table__)


def _attempt_of_event() -> sa.ColumnElement[Any]:
    """The attempt with the event's CallSid, else the named attempt if it has no CallSid yet.

    SQL over two parameters, `event_call_sid` and `named_attempt_id`; NULL matches nothing."""
    call_sid = sa.bindparam("event_call_sid", type_=_EVENTS.c.call_sid.type)
    named_id = sa.bindparam("named_attempt_id", type_=_EVENTS.c.attempt_id.type)
    attempts = _ATTEMPTS.c
    by_sid = sa.select(attempts.id).where(attempts.call_sid == call_sid)
    named = sa.select(attempts.id).where(attempts.id == named_id, attempts.call_sid.is_(None))
    return sa.func.coalesce(by_sid.scalar_subquery(), named.scalar_subquery())


# Statements built once, so that a callback does not pay for building and keying them.
_LOCK_ATTEMPT_OF_EVENT: Final = (
    sa.select(CallListEntry, Attempt)
    .join(Attempt, Attempt.entry_id == CallListEntry.id)
    .where(Attempt.id == _attempt_of_event())
    .with_for_update()
    .execution_options(populate_existing=True)
)
_INSERT_EVENT: Final = sa.insert(_EVENTS).returning(_EVENTS.c.id)
#: Store only: the event's attempt is resolved by the INSERT itself, and nothing is locked.
_STORE_EVENT: Final = (
    sa.insert(_EVENTS)
    .values(
        call_sid=sa.bindparam("event_call_sid", type_=_EVENTS.c.call_sid.type),
        attempt_id=_attempt_of_event(),
    )
    .returning(_EVENTS.c.id)
)


def _event_parameters(
    kind: str, payload: dict[str, str], now: datetime, *, applied: bool
) -> dict[str, Any]:
    return {
        "event_call_sid": _call_sid(payload),
        "kind": kind,
        "sequence_number": _integer(payload.get("SequenceNumber")),
        "payload": payload,
        "received_at": now,
        "applied_at": now if applied else None,
    }


def _insert_event(
    session: Session, kind: str, payload: dict[str, str], now: datetime, attempt_id: int | None
) -> Callback:
    """Store the event of `attempt_id`, applied at `now`."""
    parameters = _event_parameters(kind, payload, now, applied=True)
    parameters["call_sid"] = parameters.pop("event_call_sid")
    parameters["attempt_id"] = attempt_id
    event_id = session.execute(_INSERT_EVENT, parameters).scalar_one()
    return Callback(
        event_id, kind, parameters["call_sid"], parameters["sequence_number"], payload, now
    )


def _apply(session: Session, config: Config, event_id: int, now: datetime) -> bool:
    with session.begin():
        event = session.scalars(_locked(sa.select(CallEvent).where(CallEvent.id == event_id))).one()
        if event.applied_at is not None:
            return False
        applier = _applier(event.kind)
        # Resolved again: the dispatcher may have recorded the CallSid since the event was stored.
        attempt = _locked_attempt(session, event.call_sid, event.attempt_id)
        _apply_to_attempt(session, config, applier, Callback.of(event), attempt, now)
        event.applied_at = now
    return True


def _applier(kind: str) -> Applier:
    applier = _APPLIERS.get(kind)
    if applier is None:
        raise UnknownEventKindError(f"nothing applies events of kind {kind!r}")
    return applier


def _progress_report(kind: str, payload: Mapping[str, str], now: datetime) -> StatusReport | None:
    """The report of a status callback that can only move a live call forward (initiated,
    ringing, in-progress): three of a call's four callbacks. None for any other callback."""
    if kind != EventKind.STATUS:
        return None
    report = _report_of(payload, _integer(payload.get("SequenceNumber")), now)
    return None if report is None or report.status.is_final else report


#: A progress callback's attempt, locked: the columns it reads, in Core (no ORM object).
_LOCK_LIVE_CALL: Final = (
    sa.select(
        _ATTEMPTS.c.id,
        _ATTEMPTS.c.call_sid,
        _ATTEMPTS.c.status,
        _ATTEMPTS.c.last_sequence_number,
        _ATTEMPTS.c.answered_by,
    )
    .where(_ATTEMPTS.c.id == _attempt_of_event())
    .with_for_update()
)
#: What a progress callback may change, all of it written (unchanged columns as read).
_MOVE_LIVE_CALL: Final = (
    _ATTEMPTS.update()
    .where(_ATTEMPTS.c.id == sa.bindparam("attempt_id"))
    .values(
        {
            column: sa.bindparam(column, type_=_ATTEMPTS.c[column].type)
            for column in ("call_sid", "status", "last_sequence_number", "answered_by")
        }
    )
)


def _receive_progress(
    session: Session,
    payload: dict[str, str],
    report: StatusReport,
    call_sid: str | None,
    attempt_id: int | None,
    now: datetime,
) -> Callback:
    """Store and apply a progress callback with three statements and no unit of work: lock the
    attempt's row, insert the event, update the attempt if the report moves it forward.

    The rules are `apply_status`'s for a status that is not final (`is_step_forward`,
    `kept_answer`), on the columns alone: the busiest webhook pays neither for loading the
    attempt and its entry as objects nor for flushing them. Only the attempt is locked, as
    nothing here touches the entry, so no order of locks can be crossed."""
    parameters = {"event_call_sid": call_sid, "named_attempt_id": attempt_id}
    call = session.execute(_LOCK_LIVE_CALL, parameters).one_or_none()
    if call is not None and call_sid is not None and call.call_sid not in (None, call_sid):
        call = None
    if call is None:
        callback = _insert_event(session, EventKind.STATUS, payload, now, None)
        _log_without_attempt(callback)
        return callback
    callback = _insert_event(session, EventKind.STATUS, payload, now, call.id)
    adopts = call.call_sid is None and call_sid is not None
    if adopts:
        _log_adopted(call.id, callback)
    sequence_number = report.sequence_number
    forward = is_step_forward(
        call.status, call.last_sequence_number, report.status, sequence_number
    )
    if not forward:
        _log_ignored(callback, report, call.id, call.status)
    if adopts or forward:
        moved = {
            "attempt_id": call.id,
            "call_sid": call_sid if adopts else call.call_sid,
            "status": report.status if forward else call.status,
            "last_sequence_number": (
                sequence_number
                if forward and sequence_number is not None
                else call.last_sequence_number
            ),
            "answered_by": (
                kept_answer(call.answered_by, report.answered_by) if forward else call.answered_by
            ),
        }
        session.execute(_MOVE_LIVE_CALL, moved)
        _expire_loaded(session, call.id)
    return callback


def _expire_loaded(session: Session, attempt_id: int) -> None:
    """The attempt's object, if the session holds one, is stale after a Core UPDATE: expired,
    it is read again when next used (objects here outlive commits)."""
    loaded = session.identity_map.get(identity_key(Attempt, attempt_id))
    if loaded is not None:
        session.expire(loaded)


def _locked_attempt(session: Session, call_sid: str | None, named_id: int | None) -> Attempt | None:
    """The attempt of a callback, re-read with its entry and both locked by one statement
    (entry first, in the order every writer locks them); None when there is none, or when the
    named attempt took another CallSid since it was chosen."""
    parameters = {"event_call_sid": call_sid, "named_attempt_id": named_id}
    row = session.execute(_LOCK_ATTEMPT_OF_EVENT, parameters).one_or_none()
    if row is None:
        return None
    attempt: Attempt = row.Attempt
    # The entry read under the lock is the attempt's `entry` from here on, without a lazy load.
    set_committed_value(attempt, "entry", row.CallListEntry)
    if call_sid is None or attempt.call_sid in (None, call_sid):
        return attempt
    return None


def _apply_to_attempt(
    session: Session,
    config: Config,
    applier: Applier,
    callback: Callback,
    attempt: Attempt | None,
    now: datetime,
) -> None:
    if attempt is None:
        _log_without_attempt(callback)
        return
    if attempt.call_sid is None and callback.call_sid is not None:
        _log_adopted(attempt.id, callback)
        attempt.call_sid = callback.call_sid
    applier(session, config, callback, attempt, now)


def _log_without_attempt(callback: Callback) -> None:
    log_event(
        logger,
        "callback_without_attempt",
        level=logging.WARNING,
        event_id=callback.id,
        kind=callback.kind,
        call_sid=callback.call_sid,
    )


def _log_adopted(attempt_id: int, callback: Callback) -> None:
    log_event(
        logger,
        "call_sid_adopted",
        attempt_id=attempt_id,
        call_sid=callback.call_sid,
        event_id=callback.id,
    )


def _log_ignored(
    callback: Callback, report: StatusReport, attempt_id: int, status: CallStatus | None
) -> None:
    log_event(
        logger,
        "status_ignored",
        event_id=callback.id,
        status=report.status.value,
        attempt_id=attempt_id,
        attempt_status=status,
    )


def _locked(query: _Query) -> _Query:
    return query.with_for_update().execution_options(populate_existing=True)


def _apply_status(
    session: Session, config: Config, event: Callback, attempt: Attempt, now: datetime
) -> None:
    report = _status_report(event)
    if report is None:
        log_event(logger, "unknown_call_status", level=logging.WARNING, event_id=event.id)
        return
    # `_locked_attempt` locked and re-read the entry with the attempt: no second read.
    if not apply_status(session, config, attempt, report, now=now, entry=attempt.entry):
        _log_ignored(event, report, attempt.id, attempt.status)


def _apply_amd(
    session: Session, config: Config, event: Callback, attempt: Attempt, now: datetime
) -> None:
    answered_by = event.payload.get("AnsweredBy")
    if not note_answered_by(attempt, answered_by if isinstance(answered_by, str) else None):
        return
    if attempt.outcome is not None:
        # The outcome was settled when the call ended; the verdict is kept for the record only.
        log_event(
            logger,
            "answered_by_after_outcome",
            event_id=event.id,
            answered_by=answered_by,
            attempt_id=attempt.id,
            outcome=attempt.outcome,
        )


_APPLIERS: Final[Mapping[str, Applier]] = {
    EventKind.STATUS: _apply_status,
    EventKind.AMD: _apply_amd,
}


def _status_report(event: Callback) -> StatusReport | None:
    return _report_of(event.payload, event.sequence_number, event.received_at)


def _report_of(
    payload: Mapping[str, Any], sequence_number: int | None, received_at: datetime
) -> StatusReport | None:
    try:
        status = CallStatus(str(payload.get("CallStatus")))
    except ValueError:
        return None
    answered_by = payload.get("AnsweredBy")
    return StatusReport(
        status=status,
        sequence_number=sequence_number,
        answered_by=answered_by if isinstance(answered_by, str) and answered_by else None,
        duration_seconds=_integer(payload.get("CallDuration")),
        error_code=_integer(payload.get("ErrorCode")),
        sip_response_code=_integer(payload.get("SipResponseCode")),
        ended_at=received_at,
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
