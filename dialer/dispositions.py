"""What an operator records after talking to a customer, and what it does to the call list.

A disposition is stored on the attempt (`Attempt.disposition`, with who, when, a note and, for
a callback, the time asked for) and settles the attempt's entry through the entry state
machine of `dialer.outcomes`:

- `reached`, `converted`, `retained_*`, `cancelled_as_requested` and `wrong_person` close the
  entry with the matching `ClosedReason` (every `retained_*` closes it as `retained`; the
  attempt keeps which kind). `wrong_person` also marks the number as not the customer's
  (`dialer.number_marks`), so that no campaign calls them there again.
  `cancelled_as_requested` is always accepted: a customer who holds to cancelling must be let
  go (特定商取引法 第13条の2), so nothing but an unknown attempt or a disposition already
  recorded refuses it.
- `refused` puts the customer and the number on the DNC list at once (source operator, who and
  when) and closes the entry as `refused`, whatever state it is in: no campaign calls the
  customer again (特定商取引法 第17条, DESIGN.md invariant 5).
- `callback` makes the entry pending again, due at the first open instant of the campaign's
  calendar at or after the time asked for (and, like the IVR's callbacks, no sooner than
  `CALLBACK_MIN_DELAY` from now, so that the customer is never dialled while still on the
  line); a time in the past, or one with no open instant before the campaign's last day, is
  refused.

When the call ended, `finish_attempt` closed the entry as `reached` (a person answered); a
disposition refines that close or reopens the entry for a callback. It only moves an entry
whose latest attempt is this one and which is not closed for another reason (an opt-out, say):
otherwise the disposition is still recorded on the attempt, and the entry is left alone (a
callback is refused then, since it could not be honoured). Recorded during the call, the
disposition moves the entry out of `in_progress`, and the end of the call leaves it there.

Whoever records the disposition is stored as `dispositioned_by`; on a call that no operator was
assigned to, they are taken to be the operator who took it (`operator_id`). A second
disposition for the same attempt is refused, so a form posted twice changes nothing.
Errors carry a stable `code` so that screens can say what is wrong in their own language.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config, calling_rules
from dialer.errors import DialerError, UnknownCampaignError
from dialer.ivr import CALLBACK_MIN_DELAY
from dialer.log import log_event
from dialer.models import Attempt, CallListEntry, DncEntry, DncSource, EntryState
from dialer.number_marks import mark_wrong_number
from dialer.outcome_codes import ClosedReason, Outcome
from dialer.outcomes import MACHINE_ANSWERS, locked_entry, move_entry
from dialer.retries import Close, NextStep, Reschedule, retry_time
from dialer.wallclock import require_aware

__all__ = [
    "CALLBACK_MIN_DELAY",
    "CALLBACK_OUTCOME",
    "CONVERSIONS",
    "DNC_REASON",
    "MAX_NOTE_LENGTH",
    "Disposition",
    "DispositionError",
    "Recorded",
    "record_disposition",
]

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH: Final = 2000
#: The reason written on the DNC entry of a `refused` disposition.
DNC_REASON: Final = "operator disposition: refused"
#: The entry's `last_outcome` when it waits for a callback (as the IVR writes it).
CALLBACK_OUTCOME: Final = "callback"


class Disposition(StrEnum):
    """What came of a conversation. Stored in `attempts.disposition`: never rename them."""

    REACHED = "reached"
    CONVERTED = "converted"
    RETAINED_SKIP = "retained_skip"
    RETAINED_LONGER_CYCLE = "retained_longer_cycle"
    RETAINED_SMALLER_SIZE = "retained_smaller_size"
    RETAINED_PAUSE = "retained_pause"
    CANCELLED_AS_REQUESTED = "cancelled_as_requested"
    REFUSED = "refused"
    WRONG_PERSON = "wrong_person"
    CALLBACK = "callback"

    @property
    def is_conversion(self) -> bool:
        """Counts towards 成約率: a sale, or a subscription kept."""
        return self in CONVERSIONS

    @property
    def closed_reason(self) -> ClosedReason | None:
        """The reason the entry closes with; None for a callback, which reschedules it."""
        return _CLOSES.get(self)


#: Dispositions counted as 成約 (conversion) on the overview.
CONVERSIONS: Final = frozenset(
    {
        Disposition.CONVERTED,
        Disposition.RETAINED_SKIP,
        Disposition.RETAINED_LONGER_CYCLE,
        Disposition.RETAINED_SMALLER_SIZE,
        Disposition.RETAINED_PAUSE,
    }
)

_CLOSES: Final = {
    Disposition.REACHED: ClosedReason.REACHED,
    Disposition.CONVERTED: ClosedReason.CONVERTED,
    Disposition.RETAINED_SKIP: ClosedReason.RETAINED,
    Disposition.RETAINED_LONGER_CYCLE: ClosedReason.RETAINED,
    Disposition.RETAINED_SMALLER_SIZE: ClosedReason.RETAINED,
    Disposition.RETAINED_PAUSE: ClosedReason.RETAINED,
    Disposition.CANCELLED_AS_REQUESTED: ClosedReason.CANCELLED_AS_REQUESTED,
    Disposition.REFUSED: ClosedReason.REFUSED,
    Disposition.WRONG_PERSON: ClosedReason.WRONG_PERSON,
}
#: Closed reasons that are final whatever an operator records later.
_REFUSALS: Final = frozenset({ClosedReason.REFUSED.value, ClosedReason.OPTED_OUT.value})
#: Outcomes of calls nobody talked in.
_NOBODY: Final = frozenset(outcome.value for outcome in Outcome) - {Outcome.HUMAN.value}


class DispositionError(DialerError):
    """A disposition that cannot be recorded; `code` is stable, the message is for logs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Recorded:
    """What a disposition did: the entry's state afterwards, and whether it was moved."""

    attempt_id: int
    disposition: Disposition
    entry_moved: bool
    entry_state: EntryState
    closed_reason: str | None
    next_attempt_at: datetime | None


def record_disposition(
    session: Session,
    config: Config,
    attempt_id: int,
    disposition: Disposition | str,
    *,
    by: str,
    now: datetime,
    note: str | None = None,
    callback_at: datetime | None = None,
) -> Recorded:
    """Record `disposition` for the attempt as `by` (a user name) and settle its entry.

    In the caller's transaction. Raises `DispositionError` for an unknown attempt or
    disposition, a call nobody answered, a second disposition, and an unusable callback time.
    """
    require_aware(now)
    chosen = _disposition(disposition)
    text = _note(note)
    entry_id = session.scalar(sa.select(Attempt.entry_id).where(Attempt.id == attempt_id))
    if entry_id is None:
        raise DispositionError("not_found", f"no attempt {attempt_id}")
    # Entry first, then attempt: the lock order every writer follows (`dialer.outcomes`).
    entry = locked_entry(session, entry_id)
    attempt = _locked_attempt(session, attempt_id)
    _check_recordable(attempt)
    movable = _movable(session, entry, attempt)
    step: NextStep | None = None
    if chosen is Disposition.CALLBACK:
        if not movable:
            raise DispositionError(
                "entry_closed", f"entry {entry.id} is {entry.state}; no callback can be booked"
            )
        step = Reschedule(_callback_due(config, attempt, callback_at, now))
    elif chosen is Disposition.REFUSED:
        _add_to_dnc(session, attempt, by=by, now=now)
        if entry.closed_reason not in _REFUSALS:
            step = Close(ClosedReason.REFUSED)
    else:
        if chosen is Disposition.WRONG_PERSON:
            mark_wrong_number(session, attempt.customer_id, attempt.phone)
        if movable:
            reason = chosen.closed_reason
            assert reason is not None
            step = Close(reason)
    attempt.disposition = chosen.value
    attempt.dispositioned_at = now
    attempt.dispositioned_by = by
    attempt.notes = text
    attempt.callback_at = callback_at if chosen is Disposition.CALLBACK else None
    if attempt.operator_id is None:
        attempt.operator_id = by
    if step is not None:
        move_entry(entry, step, now=now)
        if isinstance(step, Reschedule):
            # Reopened after `finish_attempt` closed it as reached: no longer closed.
            entry.closed_reason = entry.closed_at = None
            entry.last_outcome = CALLBACK_OUTCOME
    session.flush()
    log_event(
        logger,
        "disposition_recorded",
        attempt=attempt.id,
        disposition=chosen.value,
        by=by,
        entry=entry.id,
        state=entry.state.value,
    )
    return Recorded(
        attempt_id=attempt.id,
        disposition=chosen,
        entry_moved=step is not None,
        entry_state=entry.state,
        closed_reason=entry.closed_reason,
        next_attempt_at=entry.next_attempt_at,
    )


def _disposition(value: Disposition | str) -> Disposition:
    try:
        return Disposition(value)
    except ValueError:
        raise DispositionError("unknown_disposition", f"unknown disposition {value!r}") from None


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise DispositionError("note_too_long", f"a note has at most {MAX_NOTE_LENGTH} characters")
    return text or None


def _locked_attempt(session: Session, attempt_id: int) -> Attempt:
    query = (
        sa.select(Attempt)
        .where(Attempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


def _check_recordable(attempt: Attempt) -> None:
    if attempt.disposition is not None:
        raise DispositionError(
            "already_recorded",
            f"attempt {attempt.id} was already dispositioned as {attempt.disposition} "
            f"by {attempt.dispositioned_by or attempt.operator_id or 'someone'}",
        )
    if attempt.outcome in _NOBODY or attempt.answered_by in MACHINE_ANSWERS:
        raise DispositionError(
            "not_answered", f"nobody talked in attempt {attempt.id} ({attempt.outcome})"
        )


def _movable(session: Session, entry: CallListEntry, attempt: Attempt) -> bool:
    """The entry waits on this attempt, or was closed only because a person answered it."""
    latest = session.scalar(
        sa.select(sa.func.max(Attempt.attempt_number)).where(Attempt.entry_id == entry.id)
    )
    if latest is not None and attempt.attempt_number < latest:
        return False
    return entry.state is not EntryState.DONE or entry.closed_reason == ClosedReason.REACHED


def _callback_due(
    config: Config, attempt: Attempt, callback_at: datetime | None, now: datetime
) -> datetime:
    """The first open instant at or after `callback_at`, inside the campaign's dates."""
    if callback_at is None:
        raise DispositionError("callback_time_required", "a callback needs a time")
    require_aware(callback_at)
    if _utc(callback_at) < _utc(now):
        raise DispositionError("callback_in_past", f"{callback_at.isoformat()} has passed")
    try:
        rules = calling_rules(config, attempt.campaign_id)
    except UnknownCampaignError:
        raise DispositionError(
            "unknown_campaign", f"campaign {attempt.campaign_id!r} is not configured"
        ) from None
    last_day = rules.last_day
    if last_day is not None and callback_at.astimezone(rules.timezone).date() > last_day:
        raise DispositionError(
            "callback_after_campaign", f"the campaign ends on {last_day.isoformat()}"
        )
    due = retry_time(rules, max(callback_at, now + CALLBACK_MIN_DELAY, key=_utc))
    if due is None:
        raise DispositionError(
            "callback_after_campaign", f"no calling time left from {callback_at.isoformat()}"
        )
    return due


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _add_to_dnc(session: Session, attempt: Attempt, *, by: str, now: datetime) -> None:
    """The customer and the number on the DNC list, unless an active entry already names
    both (a refusal keyed on both survives a change of number and the customer record)."""
    existing = session.scalar(
        sa.select(DncEntry.id).where(
            DncEntry.customer_id == attempt.customer_id,
            DncEntry.phone == attempt.phone,
            DncEntry.active_at(now),
        )
    )
    if existing is not None:
        return
    session.add(
        DncEntry(
            customer_id=attempt.customer_id,
            phone=attempt.phone,
            source=DncSource.OPERATOR,
            reason=DNC_REASON,
            added_at=now,
            added_by=by,
        )
    )
    log_event(logger, "dnc_added", customer=attempt.customer_id, phone=attempt.phone, by=by)
