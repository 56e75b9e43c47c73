"""The callback log: stored as received before it is applied, applied once, replayed after a
failure; late, duplicated and out-of-order callbacks leave the right final state."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer import callbacks
from dialer.callbacks import (
    EventKind,
    UnknownEventKindError,
    apply_event,
    apply_pending_events,
    record_event,
)
from dialer.campaigns import Config
from dialer.db import make_session_factory
from dialer.models import Attempt, CallEvent, CallListEntry, CallStatus, EntryState
from dialer.outcomes import MACHINE_ANSWERS
from tests.factories import (
    DEFAULT_TIME,
    callback_params,
    make_attempt,
    make_config,
    make_entry,
)
from tests.logs import logged

NOW = DEFAULT_TIME + timedelta(minutes=5)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture
def attempt(session: Session) -> Attempt:
    """A call just placed: its entry is in progress, Twilio has queued it."""
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=CallStatus.QUEUED)
    session.commit()
    return attempt


def deliver(
    session: Session,
    config: Config,
    params: dict[str, str],
    kind: EventKind = EventKind.STATUS,
    **options: int,
) -> CallEvent:
    """Store and apply one callback, as the webhook does (after ending the test's reads)."""
    session.commit()
    event = record_event(session, kind, params, now=NOW, **options)
    apply_event(session, config, event, now=NOW)
    return event


def events(session: Session) -> list[CallEvent]:
    """The event log as the database has it now (other sessions may have applied events)."""
    session.commit()
    query = sa.select(CallEvent).order_by(CallEvent.id)
    with session.begin():
        return list(session.scalars(query.execution_options(populate_existing=True)))


def test_the_callback_is_stored_as_received_and_committed_before_it_is_applied(
    session: Session, engine: Engine, attempt: Attempt
) -> None:
    params = callback_params(attempt, "ringing", 1, CallerName="山田 太郎", ForwardedFrom="")
    event = record_event(session, EventKind.STATUS, params, now=NOW)
    with engine.connect() as other:
        stored = other.execute(
            sa.select(CallEvent.payload, CallEvent.applied_at, CallEvent.received_at)
        ).one()
    assert stored.payload == params
    assert stored.applied_at is None
    assert stored.received_at == NOW
    assert (event.kind, event.call_sid, event.sequence_number) == ("status", attempt.call_sid, 1)
    assert event.attempt_id == attempt.id
    assert attempt.status is CallStatus.QUEUED


def test_applying_moves_the_attempt_and_marks_the_event_applied(
    session: Session, config: Config, attempt: Attempt
) -> None:
    event = deliver(session, config, callback_params(attempt, "ringing", 1))
    assert event.applied_at == NOW
    assert (attempt.status, attempt.last_sequence_number) == (CallStatus.RINGING, 1)


def test_a_completed_call_records_duration_end_and_outcome(
    session: Session, config: Config, attempt: Attempt
) -> None:
    deliver(session, config, callback_params(attempt, "completed", 3, CallDuration="47"))
    assert (attempt.status, attempt.outcome) == (CallStatus.COMPLETED, "human")
    assert (attempt.duration_seconds, attempt.ended_at) == (47, NOW)
    assert (attempt.entry.state, attempt.entry.closed_reason) == (EntryState.DONE, "reached")


def test_late_callbacks_after_the_final_one_change_nothing(
    session: Session, config: Config, attempt: Attempt
) -> None:
    deliver(session, config, callback_params(attempt, "completed", 3, CallDuration="47"))
    for status, sequence in (("ringing", 1), ("initiated", 0), ("in-progress", 2)):
        deliver(session, config, callback_params(attempt, status, sequence))
    assert (attempt.status, attempt.last_sequence_number, attempt.outcome) == (
        CallStatus.COMPLETED,
        3,
        "human",
    )
    assert attempt.entry.state is EntryState.DONE
    assert all(event.applied_at is not None for event in events(session))


def test_duplicated_callbacks_are_stored_twice_and_applied_once(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "busy", 2)
    deliver(session, config, params)
    entry = attempt.entry
    due = entry.next_attempt_at
    deliver(session, config, params)
    later = NOW + timedelta(minutes=20)
    event = record_event(session, EventKind.STATUS, params, now=later)
    apply_event(session, config, event, now=later)
    assert (entry.state, entry.next_attempt_at, entry.attempt_count) == (
        EntryState.PENDING,
        due,
        1,
    )
    assert len(events(session)) == 3


def test_an_out_of_order_sequence_ends_in_the_final_state(
    session: Session, config: Config, attempt: Attempt
) -> None:
    for status, sequence in (("in-progress", 2), ("initiated", 0), ("ringing", 1)):
        deliver(session, config, callback_params(attempt, status, sequence))
    assert (attempt.status, attempt.last_sequence_number) == (CallStatus.IN_PROGRESS, 2)
    deliver(session, config, callback_params(attempt, "no-answer", 3))
    assert (attempt.status, attempt.outcome) == (CallStatus.NO_ANSWER, "no-answer")
    assert attempt.entry.state is EntryState.PENDING


def test_an_event_is_applied_at_most_once(
    session: Session, config: Config, attempt: Attempt
) -> None:
    event = record_event(session, EventKind.STATUS, callback_params(attempt, "busy", 2), now=NOW)
    assert apply_event(session, config, event, now=NOW)
    assert not apply_event(session, config, event, now=NOW + timedelta(seconds=1))
    assert event.applied_at == NOW


def test_an_unknown_call_sid_is_stored_and_applied_without_effect(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "completed", 3, CallSid="CA" + "f" * 32)
    event = deliver(session, config, params)
    assert (event.attempt_id, event.applied_at) == (None, NOW)
    assert (attempt.status, attempt.outcome) == (CallStatus.QUEUED, None)


def test_a_callback_without_a_known_status_changes_nothing(
    session: Session, config: Config, attempt: Attempt
) -> None:
    event = deliver(session, config, callback_params(attempt, "exploded", 4))
    assert event.applied_at == NOW
    assert attempt.status is CallStatus.QUEUED


@pytest.mark.parametrize("answered_by", sorted(MACHINE_ANSWERS))
def test_an_amd_machine_verdict_makes_the_completed_call_a_machine(
    session: Session, config: Config, attempt: Attempt, answered_by: str
) -> None:
    amd = {"CallSid": attempt.call_sid or "", "AnsweredBy": answered_by}
    amd["MachineDetectionDuration"] = "2140"
    deliver(session, config, amd, EventKind.AMD)
    assert attempt.answered_by == answered_by
    deliver(session, config, callback_params(attempt, "completed", 3, CallDuration="12"))
    assert attempt.outcome == "machine"
    entry = attempt.entry
    assert (entry.state, entry.last_outcome) == (EntryState.PENDING, "machine")


def test_answered_by_on_the_status_callback_counts_too(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "completed", 3, AnsweredBy="machine_end_beep")
    deliver(session, config, params)
    assert (attempt.answered_by, attempt.outcome) == ("machine_end_beep", "machine")


def test_an_amd_verdict_after_the_call_ended_is_kept_but_changes_no_outcome(
    session: Session, config: Config, attempt: Attempt
) -> None:
    deliver(session, config, callback_params(attempt, "completed", 3))
    deliver(
        session,
        config,
        {"CallSid": attempt.call_sid or "", "AnsweredBy": "machine_start"},
        EventKind.AMD,
    )
    assert (attempt.answered_by, attempt.outcome) == ("machine_start", "human")
    assert attempt.entry.state is EntryState.DONE


def test_a_failed_call_keeps_its_codes_and_an_invalid_number_is_not_retried(
    session: Session, attempt: Attempt
) -> None:
    config = make_config(retry={"failed": "1h"})
    params = callback_params(attempt, "failed", 1, ErrorCode="13224", SipResponseCode="404")
    deliver(session, config, params)
    assert (attempt.outcome, attempt.error_code, attempt.sip_response_code) == (
        "failed",
        13224,
        404,
    )
    entry = attempt.entry
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, "undialable")


def test_a_callback_may_name_its_attempt_before_the_call_sid_is_recorded(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=None)
    attempt.call_sid = None
    session.commit()
    params = callback_params(attempt, "ringing", 1, CallSid="CA" + "1" * 32)
    event = deliver(session, config, params, attempt_id=attempt.id)
    assert event.attempt_id == attempt.id
    assert (attempt.call_sid, attempt.status) == ("CA" + "1" * 32, CallStatus.RINGING)


def test_a_named_attempt_with_another_call_sid_is_not_touched(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "completed", 3, CallSid="CA" + "2" * 32)
    event = deliver(session, config, params, attempt_id=attempt.id)
    assert event.attempt_id is None
    assert (attempt.status, attempt.call_sid) != (CallStatus.COMPLETED, "CA" + "2" * 32)


def test_an_event_whose_application_fails_stays_stored_and_the_replay_applies_it(
    session: Session, config: Config, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(callbacks, "apply_status", broken)
    event = record_event(session, EventKind.STATUS, callback_params(attempt, "busy", 2), now=NOW)
    with pytest.raises(RuntimeError, match="hiccup"):
        apply_event(session, config, event, now=NOW)
    stored = events(session)
    assert [(e.id, e.applied_at) for e in stored] == [(event.id, None)]
    session.refresh(attempt)
    session.commit()
    assert attempt.status is CallStatus.QUEUED

    monkeypatch.undo()
    replay = apply_pending_events(session, config, now=NOW + timedelta(minutes=1))
    assert (replay.applied, replay.failed) == (1, 0)
    assert attempt.status is CallStatus.BUSY
    assert attempt.entry.state is EntryState.PENDING
    assert events(session)[0].applied_at == NOW + timedelta(minutes=1)


def test_the_replay_goes_past_an_event_that_fails_again(
    session: Session, config: Config, attempt: Attempt
) -> None:
    ringing = callback_params(attempt, "ringing", 1)
    stuck = record_event(session, "voice", {"CallSid": attempt.call_sid or ""}, now=NOW)
    with pytest.raises(UnknownEventKindError):
        apply_event(session, config, stuck, now=NOW)
    record_event(session, EventKind.STATUS, ringing, now=NOW)
    replay = apply_pending_events(session, config, now=NOW)
    assert (replay.applied, replay.failed) == (1, 1)
    assert attempt.status is CallStatus.RINGING
    assert [e.applied_at is None for e in events(session)] == [True, False]


def test_the_replay_skips_applied_events(
    session: Session, config: Config, attempt: Attempt
) -> None:
    deliver(session, config, callback_params(attempt, "ringing", 1))
    assert apply_pending_events(session, config, now=NOW) == callbacks.Replay(0, 0)


def test_japanese_text_in_a_payload_survives_storage(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "in-progress", 2, CallerName="株式会社みどり通販 お客様窓口")
    deliver(session, config, params)
    session.expire_all()
    assert events(session)[0].payload["CallerName"] == "株式会社みどり通販 お客様窓口"


def test_entries_and_attempts_stay_consistent_after_a_full_call(
    session: Session, config: Config, attempt: Attempt
) -> None:
    sequence = [("initiated", 0), ("ringing", 1), ("in-progress", 2), ("completed", 3)]
    for status, number in sequence:
        deliver(session, config, callback_params(attempt, status, number, CallDuration="30"))
    with session.begin():
        entry = session.scalars(sa.select(CallListEntry)).one()
        assert (entry.state, entry.closed_reason, entry.last_outcome) == (
            EntryState.DONE,
            "reached",
            "human",
        )


def test_callbacks_applied_concurrently_finish_the_attempt_once(
    session: Session, engine: Engine, config: Config, attempt: Attempt
) -> None:
    deliveries = [
        callback_params(attempt, status, number)
        for status, number in (("initiated", 0), ("ringing", 1), ("in-progress", 2), ("busy", 3))
        for _copy in range(3)
    ]
    stored = [record_event(session, EventKind.STATUS, params, now=NOW) for params in deliveries]
    event_ids = [event.id for event in stored]
    sessions = make_session_factory(engine)
    errors: list[BaseException] = []

    def apply_all(worker: int) -> None:
        with sessions() as own:
            for event_id in event_ids[worker::2] + event_ids:
                try:
                    event = own.get(CallEvent, event_id)
                    own.commit()
                    assert event is not None
                    apply_event(own, config, event, now=NOW)
                except BaseException as error:  # the test reports any, deadlocks included
                    errors.append(error)
                    return

    threads = [threading.Thread(target=apply_all, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    session.refresh(attempt)
    session.refresh(attempt.entry)
    session.commit()
    assert (attempt.status, attempt.outcome, attempt.last_sequence_number) == (
        CallStatus.BUSY,
        "busy",
        3,
    )
    assert (attempt.entry.state, attempt.entry.next_attempt_at) == (
        EntryState.PENDING,
        NOW + timedelta(minutes=30),
    )
    assert all(event.applied_at == NOW for event in events(session))


def test_a_late_status_callback_is_logged_with_its_attempt(
    session: Session, config: Config, attempt: Attempt, caplog: pytest.LogCaptureFixture
) -> None:
    deliver(session, config, callback_params(attempt, "completed", 3, CallDuration="47"))
    with caplog.at_level(logging.INFO, logger="dialer.callbacks"):
        late = deliver(session, config, callback_params(attempt, "ringing", 1))
    assert logged(caplog, "status_ignored") == [
        {
            "event_id": late.id,
            "status": "ringing",
            "attempt_id": attempt.id,
            "attempt_status": CallStatus.COMPLETED,
        }
    ]


def test_an_event_that_fails_in_the_replay_is_logged_with_its_traceback(
    session: Session, config: Config, attempt: Attempt, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = record_event(session, "voice", {"CallSid": attempt.call_sid or ""}, now=NOW)
    with caplog.at_level(logging.ERROR, logger="dialer.callbacks"):
        apply_pending_events(session, config, now=NOW)
    assert logged(caplog, "event_replay_failed", logging.ERROR) == [{"event_id": stuck.id}]
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is UnknownEventKindError
