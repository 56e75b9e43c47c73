"""The attempt's state machine, and the entry's next step when its call ends.

Twilio reports a call through callbacks that may arrive late, twice or out of order, so an
attempt's status only moves forward: queued < initiated < ringing < in-progress < a final status
(completed, busy, no-answer, failed, canceled). A report is ignored when its status does not rank
above the current one, when the current status is final, or when its SequenceNumber is not above
the last one applied for the call; applying any report twice therefore changes nothing.

The final status decides the attempt's `Outcome` (completed is `human` unless AnsweredBy says a
machine or a fax), and `finish_attempt` then moves the entry on by the campaign's retry policy
(`dialer.retries.next_step`).

Who decides an entry's next step: while a call is live its entry is `in_progress` and the call
is the entry's latest attempt. Whatever settles the entry during the call (the IVR scheduling a
callback the customer asked for, an opt-out putting them on the DNC list) moves the entry out
of `in_progress` itself, in its own transaction. When the call ends, `finish_attempt` acts only
on an entry that is still `in_progress` with this attempt as its latest, so a decision taken
during the call is never overwritten and a very late callback never touches a newer attempt.

Callers hold the rows in this order, which every writer follows so that two transactions never
wait on each other in a cycle: call_events, then call_list_entries, then attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config, calling_rules
from dialer.errors import UnknownCampaignError
from dialer.log import log_event
from dialer.models import Attempt, CallListEntry, CallStatus, EntryState
from dialer.number_marks import mark_reported_invalid
from dialer.outcome_codes import ClosedReason, Outcome
from dialer.retries import Close, NextStep, Reschedule, next_step
from dialer.telephony.twilio import INVALID_NUMBER_CODES
from dialer.wallclock import require_aware

__all__ = [
    "MACHINE_ANSWERS",
    "ClosedReason",
    "Outcome",
    "StatusReport",
    "advance_status",
    "apply_status",
    "finish_attempt",
    "is_step_forward",
    "kept_answer",
    "move_entry",
    "note_answered_by",
    "outcome_of",
    "status_rank",
]

logger = logging.getLogger(__name__)

_FINAL_RANK: Final = 4
_RANKS: Final = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
}

#: Twilio's AnsweredBy values that mean no person took the call.
MACHINE_ANSWERS: Final = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
_UNKNOWN_ANSWER: Final = "unknown"

_FINAL_OUTCOMES: Final = {
    CallStatus.BUSY: Outcome.BUSY,
    CallStatus.NO_ANSWER: Outcome.NO_ANSWER,
    CallStatus.FAILED: Outcome.FAILED,
    CallStatus.CANCELED: Outcome.CANCELED,
}


@dataclass(frozen=True)
class StatusReport:
    """One report of a call's status, from a status callback or from fetching the call.

    `ended_at` is when the call was known to have ended (the callback's arrival); the time of
    applying the report is used when it is None.
    """

    status: CallStatus
    sequence_number: int | None = None
    answered_by: str | None = None
    duration_seconds: int | None = None
    error_code: int | None = None
    sip_response_code: int | None = None
    ended_at: datetime | None = None


def status_rank(status: CallStatus | None) -> int:
    """Position in the order a call goes through; -1 before Twilio acknowledged the call."""
    if status is None:
        return -1
    return _FINAL_RANK if status.is_final else _RANKS[status]


def advance_status(attempt: Attempt, status: CallStatus, *, sequence_number: int | None) -> bool:
    """Move the attempt to `status` if that is a step forward; False when the report is a
    duplicate, late, or out of order. The dispatcher records Twilio's answer to the create
    request through this too, since a callback may have overtaken it."""
    if not is_step_forward(attempt.status, attempt.last_sequence_number, status, sequence_number):
        return False
    attempt.status = status
    if sequence_number is not None:
        attempt.last_sequence_number = sequence_number
    return True


def is_step_forward(
    current: CallStatus | None,
    last_sequence_number: int | None,
    status: CallStatus,
    sequence_number: int | None,
) -> bool:
    """Whether a report of `status` (numbered `sequence_number`) moves a call forward from
    `current`, the last report applied being numbered `last_sequence_number`. The rule of
    `advance_status`, apart from the ORM object, for callers that read the columns alone."""
    if current is not None and current.is_final:
        return False
    if (
        sequence_number is not None
        and last_sequence_number is not None
        and sequence_number <= last_sequence_number
    ):
        return False
    return status_rank(status) > status_rank(current)


def note_answered_by(attempt: Attempt, answered_by: str | None) -> bool:
    """Record Twilio's AnsweredBy verdict: the first definite one is kept, and `unknown` only
    fills a gap. True when the attempt changed."""
    verdict = kept_answer(attempt.answered_by, answered_by)
    if verdict == attempt.answered_by:
        return False
    attempt.answered_by = verdict
    return True


def kept_answer(current: str | None, answered_by: str | None) -> str | None:
    """The AnsweredBy verdict to keep when `answered_by` arrives and `current` is recorded:
    the rule of `note_answered_by`, apart from the ORM object."""
    if not answered_by or current is None:
        return answered_by or current
    if current == _UNKNOWN_ANSWER and answered_by != _UNKNOWN_ANSWER:
        return answered_by
    return current


def outcome_of(status: CallStatus, answered_by: str | None) -> Outcome:
    """The outcome of a call that ended with the final `status`."""
    if status is CallStatus.COMPLETED:
        return Outcome.MACHINE if answered_by in MACHINE_ANSWERS else Outcome.HUMAN
    if status not in _FINAL_OUTCOMES:
        raise ValueError(f"status {status.value!r} is not final")
    return _FINAL_OUTCOMES[status]


def apply_status(
    session: Session,
    config: Config,
    attempt: Attempt,
    report: StatusReport,
    *,
    now: datetime,
    entry: CallListEntry | None = None,
) -> bool:
    """Apply one status report to the attempt (locked by the caller, entry first); on a final
    status, record the call's figures and finish the attempt. False when the report changed
    nothing. `entry` as for `finish_attempt`."""
    if not advance_status(attempt, report.status, sequence_number=report.sequence_number):
        return False
    note_answered_by(attempt, report.answered_by)
    if not report.status.is_final:
        return True
    if report.duration_seconds is not None:
        attempt.duration_seconds = report.duration_seconds
    if report.sip_response_code is not None:
        attempt.sip_response_code = report.sip_response_code
    if report.error_code is not None:
        attempt.error_code = report.error_code
    attempt.ended_at = report.ended_at or now
    finish_attempt(
        session,
        config,
        attempt,
        outcome=outcome_of(report.status, attempt.answered_by),
        error_code=report.error_code,
        now=now,
        entry=entry,
    )
    return True


def finish_attempt(
    session: Session,
    config: Config,
    attempt: Attempt,
    *,
    outcome: str,
    error_code: int | None,
    now: datetime,
    entry: CallListEntry | None = None,
) -> None:
    """Record how the attempt ended and move its entry on by the campaign's retry policy.

    Called when the final status arrives, and by the dispatcher when a create request fails
    for good (an invalid number, say), in the caller's transaction; nothing is committed here.
    It locks the entry (re-reading it), so the caller should not hold the attempt's row lock
    without the entry's. An attempt that already has an outcome is left as it is.

    An invalid-number error code marks the number undialable on every customer who has it,
    whatever the entry's state: it is a fact about the number. The entry is only moved if it
    still waits on this call (see the module docstring); its `last_outcome` is recorded
    whenever this is its latest attempt.

    `entry`: the attempt's entry when the caller has already locked and re-read it in this
    transaction (a status callback locks both in one statement); it is then not read again,
    which saves the busiest webhook a round trip.
    """
    require_aware(now)
    result = Outcome(outcome)
    if attempt.outcome is not None:
        log_event(
            logger,
            "outcome_ignored",
            attempt_id=attempt.id,
            outcome=attempt.outcome,
            ignored=result.value,
        )
        return
    attempt.outcome = result
    if error_code is not None and attempt.error_code is None:
        attempt.error_code = error_code
    if attempt.ended_at is None:
        attempt.ended_at = now
    invalid_number = error_code in INVALID_NUMBER_CODES
    if invalid_number:
        mark_reported_invalid(session, attempt.phone, error_code)
    if entry is None:
        entry = locked_entry(session, attempt.entry_id)
    elif entry.id != attempt.entry_id:
        raise ValueError(f"entry {entry.id} is not the entry of attempt {attempt.id}")
    tally = _tally(session, entry, attempt)
    if attempt.attempt_number < tally.latest:
        log_event(
            logger, "attempt_finished_after_newer", attempt_id=attempt.id, outcome=result.value
        )
        return
    entry.last_outcome = result
    if entry.state is not EntryState.IN_PROGRESS:
        log_event(
            logger,
            "attempt_finished_entry_moved_on",
            attempt_id=attempt.id,
            outcome=result.value,
            entry_id=entry.id,
            state=entry.state.value,
        )
        return
    step = _next_step(config, entry, attempt, result, invalid_number, tally.counted, now)
    move_entry(entry, step, now=now)
    log_event(
        logger,
        "attempt_finished",
        attempt_id=attempt.id,
        outcome=result.value,
        entry_id=entry.id,
        **_step_fields(step),
    )


def _step_fields(step: NextStep) -> dict[str, Any]:
    """The entry's next step as log fields: why it closed, or when it is due again."""
    if isinstance(step, Close):
        return {"closed_reason": step.reason.value}
    return {"retry_at": step.at}


def _next_step(
    config: Config,
    entry: CallListEntry,
    attempt: Attempt,
    outcome: Outcome,
    invalid_number: bool,
    counted_attempts: int,
    now: datetime,
) -> NextStep:
    try:
        retry = config.campaign(entry.campaign_id).retry
        rules = calling_rules(config, entry.campaign_id)
    except UnknownCampaignError:
        # The campaign left the configuration: settle what needs no policy, and leave the rest
        # due, for the dispatcher and the list build to decide with the campaign gone.
        log_event(
            logger,
            "unknown_campaign",
            level=logging.WARNING,
            entry_id=entry.id,
            campaign_id=entry.campaign_id,
        )
        if outcome == Outcome.HUMAN:
            return Close(ClosedReason.REACHED)
        return Close(ClosedReason.UNDIALABLE) if invalid_number else Reschedule(now)
    return next_step(
        retry,
        outcome,
        attempts_made=counted_attempts,
        last_started_at=attempt.started_at,
        rules=rules,
        now=now,
        invalid_number=invalid_number,
    )


def move_entry(entry: CallListEntry, step: NextStep, *, now: datetime) -> None:
    """Put the entry where `step` says: done with its reason, or pending until its time.

    The one way this module changes an entry's state; the IVR can settle an entry during a
    call the same way (a callback the customer asked for is a `Reschedule`).
    """
    if isinstance(step, Close):
        entry.state = EntryState.DONE
        entry.closed_reason = step.reason
        entry.closed_at = now
        entry.next_attempt_at = None
    else:
        entry.state = EntryState.PENDING
        entry.next_attempt_at = step.at


def locked_entry(session: Session, entry_id: int) -> CallListEntry:
    """The entry, re-read and locked for this transaction: whoever moves an entry during or
    after a call (callbacks, the IVR) goes through this, so two moves never interleave."""
    query = (
        sa.select(CallListEntry)
        .where(CallListEntry.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


class _Tally(NamedTuple):
    """The entry's attempts as the retry policy sees them."""

    latest: int
    """The highest attempt number: an attempt below it finished after a newer one began."""
    counted: int
    """The attempts that count against `max_attempts`: all but canceled ones."""


def _tally(session: Session, entry: CallListEntry, attempt: Attempt) -> _Tally:
    """One query for both figures over the entry's other attempts; the finishing `attempt`
    (its outcome set, not yet flushed) is added here rather than flushed for the query, which
    leaves the transaction one flush instead of two."""
    counted = sa.or_(Attempt.outcome.is_(None), Attempt.outcome != Outcome.CANCELED.value)
    query = sa.select(
        sa.func.max(Attempt.attempt_number),
        sa.func.count().filter(counted),
    ).where(Attempt.entry_id == entry.id, Attempt.id != attempt.id)
    with session.no_autoflush:
        latest, count = session.execute(query).one()
    this_one_counts = attempt.outcome != Outcome.CANCELED.value
    return _Tally(max(latest or 0, attempt.attempt_number), (count or 0) + this_one_counts)
