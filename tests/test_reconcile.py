"""Reconciliation: attempts left without a CallSid or a final status are settled with Twilio."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dialer.models import Attempt, CallListEntry, CallStatus, EntryState
from dialer.reconcile import ReconcileResult, reconcile
from dialer.telephony.twilio import TwilioProvider
from tests.conftest import DISPATCH_NOW, FakeTwilio, TwilioCall
from tests.factories import make_attempt, make_dispatch_config, make_entry

CONFIG = make_dispatch_config()
CALLER_ID = "+81312345678"
MINUTE = timedelta(minutes=1)


def in_flight(
    session: Session,
    *,
    started_at: datetime,
    call_sid: str | None = None,
    status: CallStatus | None = None,
) -> Attempt:
    """An attempt of an in-progress entry, as the dispatcher leaves it."""
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, started_at=started_at, status=status)
    attempt.call_sid = call_sid
    attempt.caller_id = CALLER_ID
    session.commit()
    return attempt


def twilio_call(
    fake: FakeTwilio, attempt: Attempt, *, sid: str, status: str = "queued", **fields: object
) -> TwilioCall:
    call = TwilioCall(
        sid=sid,
        to=attempt.phone,
        from_=str(fields.pop("from_", CALLER_ID)),
        status=status,
        date_created=attempt.started_at,
    )
    for name, value in fields.items():
        setattr(call, name, value)
    fake.calls.append(call)
    return call


def reread(session: Session, attempt: Attempt) -> tuple[Attempt, CallListEntry]:
    session.expire_all()
    fresh = session.get_one(Attempt, attempt.id)
    entry = session.get_one(CallListEntry, fresh.entry_id)
    session.commit()
    return fresh, entry


def run(sessions: sessionmaker[Session], provider: TwilioProvider) -> ReconcileResult:
    return reconcile(sessions, CONFIG, provider, now=DISPATCH_NOW)


def test_an_attempt_without_call_sid_adopts_the_call_twilio_placed(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)
    call = twilio_call(fake_twilio, attempt, sid="CA" + "1" * 32)

    result = run(sessions, provider)

    assert result.adopted == 1
    fresh, entry = reread(session, attempt)
    assert (fresh.call_sid, fresh.status) == (call.sid, CallStatus.QUEUED)
    assert entry.state is EntryState.IN_PROGRESS


def test_an_attempt_whose_call_never_existed_is_released(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)

    result = run(sessions, provider)

    assert result.released == 1
    fresh, entry = reread(session, attempt)
    assert (fresh.outcome, fresh.call_sid) == ("canceled", None)
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at is not None


def test_a_recent_attempt_is_left_to_the_worker_still_placing_it(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - timedelta(seconds=20))

    result = run(sessions, provider)

    assert result == ReconcileResult()
    assert fake_twilio.requests == []
    fresh, _ = reread(session, attempt)
    assert fresh.outcome is None


def test_a_call_another_attempt_owns_is_not_adopted(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)
    owned = twilio_call(fake_twilio, attempt, sid="CA" + "2" * 32)
    other = make_attempt(session, started_at=DISPATCH_NOW - 6 * MINUTE, status=CallStatus.RINGING)
    other.call_sid = owned.sid
    session.commit()

    result = run(sessions, provider)

    assert (result.adopted, result.released) == (0, 1)


def test_a_call_from_another_caller_id_is_not_adopted(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)
    twilio_call(fake_twilio, attempt, sid="CA" + "3" * 32, from_="+81399998888")

    result = run(sessions, provider)

    assert (result.adopted, result.released) == (0, 1)


def test_a_lost_final_status_is_fetched_and_applied(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    sid = "CA" + "4" * 32
    attempt = in_flight(
        session, started_at=DISPATCH_NOW - 10 * MINUTE, call_sid=sid, status=CallStatus.RINGING
    )
    twilio_call(fake_twilio, attempt, sid=sid, status="completed", answered_by="human", duration=42)

    result = run(sessions, provider)

    assert result.updated == 1
    fresh, entry = reread(session, attempt)
    assert (fresh.status, fresh.outcome, fresh.duration_seconds) == (
        CallStatus.COMPLETED,
        "human",
        42,
    )
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, "reached")


def test_a_call_still_in_conversation_is_left_alone(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    sid = "CA" + "5" * 32
    attempt = in_flight(
        session, started_at=DISPATCH_NOW - 10 * MINUTE, call_sid=sid, status=CallStatus.RINGING
    )
    twilio_call(fake_twilio, attempt, sid=sid, status="in-progress")

    result = run(sessions, provider)

    assert (result.still_live, result.updated) == (1, 0)
    fresh, _ = reread(session, attempt)
    assert fresh.status is CallStatus.RINGING


def test_nothing_is_decided_while_twilio_cannot_be_asked(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    attempt = in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)
    fake_twilio.fail_lists(1)

    result = run(sessions, provider)

    assert (result.unreachable, result.released) == (1, 0)
    fresh, entry = reread(session, attempt)
    assert (fresh.outcome, entry.state) == (None, EntryState.IN_PROGRESS)


def test_a_run_stops_asking_once_twilio_is_unreachable(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    for minutes in (5, 6):
        in_flight(session, started_at=DISPATCH_NOW - minutes * MINUTE)
    fake_twilio.fail_lists(1)

    result = run(sessions, provider)

    assert result == ReconcileResult(unreachable=2)
    assert len(fake_twilio.requests) == 1


def test_settled_attempts_are_not_looked_at_again(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
) -> None:
    in_flight(session, started_at=DISPATCH_NOW - 5 * MINUTE)
    run(sessions, provider)
    requests = len(fake_twilio.requests)

    second = run(sessions, provider)

    assert second == ReconcileResult()
    assert len(fake_twilio.requests) == requests
    assert session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 1
    session.commit()
