"""The attempt's state machine, and what `finish_attempt` does to the entry and the phone.

The campaign is `factories.make_config`'s: max 3 attempts, busy 30m, no-answer 3h, machine 1d,
failed never, in Tokyo windows (Mon-Fri 10-12 and 13-19). Calls end on Monday 2 November 2026.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.models import Attempt, CallListEntry, CallStatus, CustomerPhone, EntryState
from dialer.outcomes import (
    MACHINE_ANSWERS,
    ClosedReason,
    Outcome,
    StatusReport,
    advance_status,
    apply_status,
    finish_attempt,
    note_answered_by,
    outcome_of,
)
from tests.factories import (
    DEFAULT_TIME,
    JST,
    make_attempt,
    make_config,
    make_customer,
    make_entry,
)
from tests.logs import logged

NOW = DEFAULT_TIME + timedelta(minutes=5)  # Monday 10:05 in Tokyo


@pytest.fixture
def config() -> Config:
    return make_config()


def live_attempt(session: Session, entry: CallListEntry | None = None) -> Attempt:
    """An attempt whose call is live: its entry is in progress."""
    entry = entry or make_entry(session, state=EntryState.IN_PROGRESS)
    return make_attempt(session, entry, status=CallStatus.IN_PROGRESS)


# --- the state machine, without a database ------------------------------------------------------


def bare_attempt(
    status: CallStatus | None = None, last_sequence_number: int | None = None
) -> Attempt:
    return Attempt(status=status, last_sequence_number=last_sequence_number)


@pytest.mark.parametrize(
    ("current", "incoming"),
    [
        (None, CallStatus.QUEUED),
        (CallStatus.QUEUED, CallStatus.INITIATED),
        (CallStatus.INITIATED, CallStatus.RINGING),
        (CallStatus.RINGING, CallStatus.IN_PROGRESS),
        (CallStatus.QUEUED, CallStatus.COMPLETED),
        (CallStatus.RINGING, CallStatus.NO_ANSWER),
        (None, CallStatus.FAILED),
    ],
    ids=str,
)
def test_status_moves_forward(current: CallStatus | None, incoming: CallStatus) -> None:
    attempt = bare_attempt(current)
    assert advance_status(attempt, incoming, sequence_number=None)
    assert attempt.status is incoming


@pytest.mark.parametrize(
    ("current", "incoming"),
    [
        (CallStatus.RINGING, CallStatus.INITIATED),
        (CallStatus.RINGING, CallStatus.RINGING),
        (CallStatus.IN_PROGRESS, CallStatus.QUEUED),
        (CallStatus.COMPLETED, CallStatus.RINGING),
        (CallStatus.COMPLETED, CallStatus.FAILED),
        (CallStatus.BUSY, CallStatus.COMPLETED),
    ],
    ids=str,
)
def test_status_never_moves_back_nor_past_a_final_one(
    current: CallStatus, incoming: CallStatus
) -> None:
    attempt = bare_attempt(current)
    assert not advance_status(attempt, incoming, sequence_number=None)
    assert attempt.status is current


def test_a_sequence_number_not_above_the_last_is_ignored() -> None:
    attempt = bare_attempt(CallStatus.RINGING, last_sequence_number=2)
    assert not advance_status(attempt, CallStatus.IN_PROGRESS, sequence_number=2)
    assert not advance_status(attempt, CallStatus.IN_PROGRESS, sequence_number=1)
    assert advance_status(attempt, CallStatus.IN_PROGRESS, sequence_number=3)
    assert (attempt.status, attempt.last_sequence_number) == (CallStatus.IN_PROGRESS, 3)


@pytest.mark.parametrize("answered_by", [None, "human", "unknown"])
def test_a_completed_call_answered_by_a_person_or_unknown_is_human(answered_by: str | None) -> None:
    assert outcome_of(CallStatus.COMPLETED, answered_by) is Outcome.HUMAN


@pytest.mark.parametrize("answered_by", sorted(MACHINE_ANSWERS))
def test_a_completed_call_answered_by_a_machine_or_fax_is_machine(answered_by: str) -> None:
    assert outcome_of(CallStatus.COMPLETED, answered_by) is Outcome.MACHINE


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (CallStatus.BUSY, Outcome.BUSY),
        (CallStatus.NO_ANSWER, Outcome.NO_ANSWER),
        (CallStatus.FAILED, Outcome.FAILED),
        (CallStatus.CANCELED, Outcome.CANCELED),
    ],
    ids=str,
)
def test_other_final_statuses_name_their_outcome(status: CallStatus, outcome: Outcome) -> None:
    assert outcome_of(status, "machine_start") is outcome


def test_a_live_status_has_no_outcome() -> None:
    with pytest.raises(ValueError, match="not final"):
        outcome_of(CallStatus.RINGING, None)


def test_answered_by_keeps_the_first_definite_verdict() -> None:
    attempt = bare_attempt()
    assert note_answered_by(attempt, "unknown")
    assert note_answered_by(attempt, "machine_start")
    assert not note_answered_by(attempt, "human")
    assert not note_answered_by(attempt, "unknown")
    assert not note_answered_by(attempt, None)
    assert attempt.answered_by == "machine_start"


# --- finishing an attempt -------------------------------------------------------------------------


def finish(
    session: Session,
    config: Config,
    attempt: Attempt,
    outcome: Outcome,
    error_code: int | None = None,
    now: datetime = NOW,
) -> CallListEntry:
    finish_attempt(session, config, attempt, outcome=outcome, error_code=error_code, now=now)
    session.commit()
    return attempt.entry


def test_a_human_answer_closes_the_entry_as_reached(session: Session, config: Config) -> None:
    attempt = live_attempt(session)
    entry = finish(session, config, attempt, Outcome.HUMAN)
    assert (entry.state, entry.closed_reason, entry.closed_at) == (
        EntryState.DONE,
        ClosedReason.REACHED,
        NOW,
    )
    assert (attempt.outcome, attempt.ended_at, entry.last_outcome) == ("human", NOW, "human")


@pytest.mark.parametrize(
    ("outcome", "due"),
    [
        (Outcome.BUSY, NOW + timedelta(minutes=30)),
        (Outcome.NO_ANSWER, NOW + timedelta(hours=3)),
        # one day later is 文化の日, a holiday: the next open instant is Wednesday 10:00
        (Outcome.MACHINE, datetime(2026, 11, 4, 10, tzinfo=JST)),
    ],
    ids=str,
)
def test_a_retryable_outcome_makes_the_entry_pending_after_its_delay(
    session: Session, config: Config, outcome: Outcome, due: datetime
) -> None:
    entry = finish(session, config, live_attempt(session), outcome)
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at == due
    assert entry.last_outcome == outcome


def test_failed_with_a_never_delay_closes_the_entry(session: Session, config: Config) -> None:
    entry = finish(session, config, live_attempt(session), Outcome.FAILED, error_code=31005)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.FAILED)


def test_the_last_allowed_attempt_closes_with_max_attempts(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    for _ in range(2):
        make_attempt(session, entry, status=CallStatus.BUSY, outcome=Outcome.BUSY)
    entry = finish(session, config, live_attempt(session, entry), Outcome.BUSY)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.MAX_ATTEMPTS)


def test_canceled_attempts_do_not_count_and_retry_without_delay(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    make_attempt(session, entry, status=CallStatus.BUSY, outcome=Outcome.BUSY)
    make_attempt(session, entry, status=CallStatus.CANCELED, outcome=Outcome.CANCELED)
    entry = finish(session, config, live_attempt(session, entry), Outcome.CANCELED)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, NOW)

    entry.state = EntryState.IN_PROGRESS
    entry = finish(session, config, live_attempt(session, entry), Outcome.BUSY)
    assert entry.state is EntryState.PENDING  # the second counted attempt of three

    entry.state = EntryState.IN_PROGRESS
    entry = finish(session, config, live_attempt(session, entry), Outcome.BUSY)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.MAX_ATTEMPTS)


@pytest.mark.parametrize("error_code", [21211, 21614, 13224])
def test_an_invalid_number_is_marked_undialable_and_never_retried(
    session: Session, error_code: int
) -> None:
    config = make_config(retry={"failed": "1h"})
    number = "+819011112222"
    customer = make_customer(session, phones=[number])
    other_customer_same_number = make_customer(session, phones=[number])
    entry = make_entry(session, customer, state=EntryState.IN_PROGRESS)
    attempt = live_attempt(session, entry)
    entry = finish(session, config, attempt, Outcome.FAILED, error_code=error_code)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.UNDIALABLE)
    assert attempt.error_code == error_code
    reasons = session.scalars(
        sa.select(CustomerPhone.refusal_reason).where(CustomerPhone.e164 == number)
    ).all()
    assert reasons == ["reported_invalid", "reported_invalid"]
    session.refresh(other_customer_same_number)
    assert other_customer_same_number.dialable_phone is None


def test_another_failure_code_leaves_the_number_dialable(session: Session) -> None:
    config = make_config(retry={"failed": "1h"})
    attempt = live_attempt(session)
    entry = finish(session, config, attempt, Outcome.FAILED, error_code=31005)
    assert entry.state is EntryState.PENDING
    session.refresh(entry.customer)
    assert entry.customer.dialable_phone == attempt.phone


def test_a_callback_the_ivr_scheduled_during_the_call_is_kept(
    session: Session, config: Config
) -> None:
    attempt = live_attempt(session)
    entry = attempt.entry
    callback_at = datetime(2026, 11, 4, 17, tzinfo=JST)
    entry.state, entry.next_attempt_at = EntryState.PENDING, callback_at
    session.commit()
    entry = finish(session, config, attempt, Outcome.HUMAN)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, callback_at)
    assert entry.last_outcome == "human"
    assert attempt.outcome == "human"


def test_an_opt_out_recorded_during_the_call_is_kept(session: Session, config: Config) -> None:
    attempt = live_attempt(session)
    entry = attempt.entry
    entry.state, entry.closed_reason = EntryState.DONE, "opted_out"
    session.commit()
    entry = finish(session, config, attempt, Outcome.HUMAN)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, "opted_out")


def test_an_older_attempt_ending_late_leaves_the_newer_attempts_entry_alone(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    older = make_attempt(session, entry, status=CallStatus.RINGING)
    make_attempt(session, entry, status=CallStatus.RINGING)
    session.commit()
    entry = finish(session, config, older, Outcome.BUSY)
    assert entry.state is EntryState.IN_PROGRESS
    assert entry.last_outcome is None
    assert older.outcome == "busy"


def test_an_attempt_is_finished_once(session: Session, config: Config) -> None:
    attempt = live_attempt(session)
    entry = finish(session, config, attempt, Outcome.BUSY)
    due = entry.next_attempt_at
    entry = finish(session, config, attempt, Outcome.HUMAN, now=NOW + timedelta(hours=1))
    assert (attempt.outcome, entry.state, entry.next_attempt_at) == (
        "busy",
        EntryState.PENDING,
        due,
    )


def test_an_unknown_outcome_is_refused(session: Session, config: Config) -> None:
    with pytest.raises(ValueError, match="answered"):
        finish_attempt(
            session, config, live_attempt(session), outcome="answered", error_code=None, now=NOW
        )


def test_an_entry_of_a_campaign_no_longer_configured_stays_due(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, campaign_id="retired-campaign", state=EntryState.IN_PROGRESS)
    entry = finish(session, config, live_attempt(session, entry), Outcome.NO_ANSWER)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, NOW)


def test_no_open_time_left_closes_the_entry_as_campaign_over(session: Session) -> None:
    config = make_config(dates=(DEFAULT_TIME.date() - timedelta(days=30), DEFAULT_TIME.date()))
    late = DEFAULT_TIME.replace(hour=18, minute=40)
    entry = finish(session, config, live_attempt(session), Outcome.BUSY, now=late)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.CAMPAIGN_OVER)


def test_a_final_status_report_records_the_calls_figures_and_finishes(
    session: Session, config: Config
) -> None:
    attempt = live_attempt(session)
    ended = NOW - timedelta(seconds=3)
    report = StatusReport(
        status=CallStatus.COMPLETED,
        sequence_number=3,
        answered_by="human",
        duration_seconds=42,
        ended_at=ended,
    )
    assert apply_status(session, config, attempt, report, now=NOW)
    session.commit()
    assert (attempt.status, attempt.last_sequence_number) == (CallStatus.COMPLETED, 3)
    assert (attempt.duration_seconds, attempt.ended_at, attempt.outcome) == (42, ended, "human")
    assert attempt.entry.state is EntryState.DONE
    assert not apply_status(session, config, attempt, report, now=NOW)


def test_a_finished_attempt_is_logged_with_the_entrys_next_step(
    session: Session, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    reached, busy = live_attempt(session), live_attempt(session)
    with caplog.at_level(logging.INFO, logger="dialer.outcomes"):
        finish(session, config, reached, Outcome.HUMAN)
        finish(session, config, busy, Outcome.BUSY)
        finish(session, config, busy, Outcome.HUMAN)
    assert logged(caplog, "attempt_finished") == [
        {
            "attempt_id": reached.id,
            "outcome": "human",
            "entry_id": reached.entry_id,
            "closed_reason": "reached",
        },
        {
            "attempt_id": busy.id,
            "outcome": "busy",
            "entry_id": busy.entry_id,
            "retry_at": NOW + timedelta(minutes=30),
        },
    ]
    assert logged(caplog, "outcome_ignored") == [
        {"attempt_id": busy.id, "outcome": "busy", "ignored": "human"}
    ]


def test_an_invalid_number_is_logged_with_the_number_and_the_error_code(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = live_attempt(session)
    with caplog.at_level(logging.INFO, logger="dialer.number_marks"):
        finish(session, make_config(), attempt, Outcome.FAILED, error_code=21211)
    assert logged(caplog, "number_marked_undialable") == [
        {"phone": attempt.phone, "error_code": 21211}
    ]
