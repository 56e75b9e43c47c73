"""Twilio failing a create: back off, reconcile before any retry, and never lose an entry.

Each test counts both what reached Twilio (`fake_twilio.creates`, every request) and what
exists there (`fake_twilio.calls`, the calls really created).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dialer.campaigns import Config
from dialer.dispatch import DispatchOptions, dispatch_tick
from dialer.models import Attempt, CallListEntry, CustomerPhone, EntryState
from dialer.reconcile import reconcile, release
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from tests.conftest import DISPATCH_NOW, FakeTwilio, Tick
from tests.factories import make_dispatch_config, make_entry

SECOND = timedelta(seconds=1)
CONFIG = make_dispatch_config()


def attempts(session: Session) -> list[Attempt]:
    session.expire_all()
    rows = list(session.scalars(sa.select(Attempt).order_by(Attempt.id)))
    session.commit()
    return rows


def refreshed(session: Session, entry: CallListEntry) -> CallListEntry:
    session.refresh(entry)
    session.commit()
    return entry


def assert_given_back(attempt: Attempt) -> None:
    """A released attempt: canceled, never a call, and over."""
    assert (attempt.outcome, attempt.call_sid, attempt.status) == ("canceled", None, None)
    assert attempt.ended_at is not None


def test_a_rate_limit_puts_the_entry_back_until_the_pause_ends(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=429, code=20429, retry_after="30")

    result = tick(CONFIG)

    assert result.paused_until == DISPATCH_NOW + 30 * SECOND
    [attempt] = attempts(session)
    assert_given_back(attempt)
    entry = refreshed(session, entry)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, result.paused_until)


def test_nothing_is_sent_during_the_pause_and_the_entry_is_dialled_after_it(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=429, code=20429, retry_after="30")
    tick(CONFIG)

    tick(CONFIG, now=DISPATCH_NOW + 10 * SECOND)
    assert len(fake_twilio.creates) == 1
    tick(CONFIG, now=DISPATCH_NOW + 30 * SECOND)

    assert len(fake_twilio.creates) == 2
    assert len(fake_twilio.calls) == 1
    assert [a.attempt_number for a in attempts(session)] == [1, 2]
    assert refreshed(session, entry).state is EntryState.IN_PROGRESS


def test_a_rate_limit_without_retry_after_backs_off_for_about_a_second(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=429, code=20429)

    result = tick(CONFIG)

    assert result.paused_until is not None
    assert SECOND / 2 <= result.paused_until - DISPATCH_NOW <= SECOND


def test_a_rate_limit_releases_the_rest_of_the_tick_unsent(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entries = [make_entry(session) for _ in range(3)]
    session.commit()
    fake_twilio.fail_next(status=429, code=20429)

    result = tick(CONFIG)

    assert len(fake_twilio.creates) == 1
    assert result.released == 3
    for attempt in attempts(session):
        assert_given_back(attempt)
    for entry in entries:
        assert refreshed(session, entry).state is EntryState.PENDING


def test_a_server_error_on_create_is_reconciled_before_any_retry(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=500)

    result = tick(CONFIG)

    assert [kind for kind, _ in fake_twilio.requests] == ["list", "list"]
    assert result.stopped == "provider_error"
    [attempt] = attempts(session)
    assert_given_back(attempt)
    entry = refreshed(session, entry)
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at == DISPATCH_NOW + 2 * 60 * SECOND


def test_a_server_error_after_the_call_was_created_adopts_that_call(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=502, created=True)

    result = tick(CONFIG)

    assert (result.adopted, result.placed) == (1, 1)
    [attempt] = attempts(session)
    assert attempt.call_sid == fake_twilio.calls[0].sid


def test_a_timeout_after_the_call_was_created_gives_exactly_one_call(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.drop_next(created=True)

    result = tick(CONFIG)
    for seconds in (5, 60, 600):
        tick(CONFIG, now=DISPATCH_NOW + seconds * SECOND)

    assert result.adopted == 1
    assert (len(fake_twilio.creates), len(fake_twilio.calls)) == (1, 1)
    [attempt] = attempts(session)
    assert attempt.call_sid == fake_twilio.calls[0].sid
    assert attempt.outcome is None
    assert refreshed(session, entry).state is EntryState.IN_PROGRESS


def test_a_timeout_before_the_call_was_created_is_retried_later_once(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.drop_next(created=False)

    tick(CONFIG)
    tick(CONFIG, now=DISPATCH_NOW + 60 * SECOND)
    assert len(fake_twilio.creates) == 1
    tick(CONFIG, now=DISPATCH_NOW + 2 * 60 * SECOND)

    assert (len(fake_twilio.creates), len(fake_twilio.calls)) == (2, 1)
    first, second = attempts(session)
    assert_given_back(first)
    assert second.call_sid == fake_twilio.calls[0].sid
    assert refreshed(session, entry).state is EntryState.IN_PROGRESS


def test_when_the_listing_fails_too_the_attempt_waits_for_reconciliation(
    session: Session,
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    fake_twilio: FakeTwilio,
    tick: Tick,
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.drop_next(created=True)
    fake_twilio.fail_lists(1)

    result = tick(CONFIG)
    tick(CONFIG, now=DISPATCH_NOW + 30 * SECOND)

    assert (result.unresolved, result.stopped) == (1, "provider_unreachable")
    [attempt] = attempts(session)
    assert (attempt.call_sid, attempt.outcome) == (None, None)
    assert refreshed(session, entry).state is EntryState.IN_PROGRESS

    later = reconcile(sessions, CONFIG, provider, now=DISPATCH_NOW + 2 * 60 * SECOND)

    assert later.adopted == 1
    assert (len(fake_twilio.creates), len(fake_twilio.calls)) == (1, 1)
    [attempt] = attempts(session)
    assert attempt.call_sid == fake_twilio.calls[0].sid


def test_an_invalid_number_closes_the_entry_as_undialable(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=400, code=21211)

    result = tick(CONFIG)
    tick(CONFIG, now=DISPATCH_NOW + 3600 * SECOND)

    assert result.failed == 1
    assert len(fake_twilio.creates) == 1
    [attempt] = attempts(session)
    assert (attempt.outcome, attempt.error_code, attempt.call_sid) == ("failed", 21211, None)
    entry = refreshed(session, entry)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, "undialable")
    refusals = session.scalars(
        sa.select(CustomerPhone.refusal_reason).where(CustomerPhone.e164 == entry.phone)
    ).all()
    assert refusals == ["reported_invalid"]


def test_another_rejection_is_retried_later_with_its_code_kept(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    fake_twilio.fail_next(status=400, code=21210)

    tick(CONFIG)

    [attempt] = attempts(session)
    assert_given_back(attempt)
    assert attempt.error_code == 21210
    entry = refreshed(session, entry)
    assert (entry.state, entry.next_attempt_at) == (
        EntryState.PENDING,
        DISPATCH_NOW + 30 * 60 * SECOND,
    )


def test_bad_credentials_stop_the_tick_and_are_logged_loudly(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, caplog: pytest.LogCaptureFixture
) -> None:
    entries = [make_entry(session) for _ in range(2)]
    session.commit()
    fake_twilio.fail_next(status=401, code=20003)

    with caplog.at_level(logging.CRITICAL, logger="dialer.dispatch"):
        result = tick(CONFIG)

    assert result.stopped == "authentication"
    assert len(fake_twilio.creates) == 1
    assert result.paused_until is not None
    assert result.paused_until >= DISPATCH_NOW + 60 * SECOND
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL] == [
        "provider_refused"
    ]
    for entry in entries:
        assert refreshed(session, entry).state is EntryState.PENDING


def test_released_attempts_do_not_count_against_max_attempts(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config: Config = make_dispatch_config(max_attempts_per_customer_week=10)
    entry = make_entry(session)
    session.commit()
    for _ in range(config.campaigns[0].retry.max_attempts + 1):
        fake_twilio.fail_next(status=400, code=21210)
    now = DISPATCH_NOW
    for _ in range(config.campaigns[0].retry.max_attempts + 1):
        tick(config, now=now)
        now += 31 * 60 * SECOND

    entry = refreshed(session, entry)
    assert entry.state is EntryState.PENDING
    assert len(attempts(session)) == config.campaigns[0].retry.max_attempts + 1


def test_an_attempt_given_up_while_waiting_for_its_slot_is_not_placed(
    session: Session,
    sessions: sessionmaker[Session],
    fake_twilio: FakeTwilio,
    provider: TwilioProvider,
    dialer_settings: Settings,
) -> None:
    """A stalled tick outlived by reconciliation: the entry may be dialled again already."""
    make_entry(session)
    session.commit()

    def given_up_meanwhile(slot: datetime, now: datetime) -> timedelta:
        with Session(session.get_bind()) as other, other.begin():
            [attempt_id] = other.scalars(sa.select(Attempt.id))
            assert release(other, CONFIG, attempt_id, now=now)
        return timedelta(0)

    options = DispatchOptions(wait_until=given_up_meanwhile)
    dispatch_tick(sessions, CONFIG, provider, dialer_settings, now=DISPATCH_NOW, options=options)

    assert fake_twilio.creates == []
    [attempt] = attempts(session)
    assert_given_back(attempt)


def test_a_call_created_for_an_attempt_given_up_meanwhile_is_ended_at_once(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    """The create took longer than reconciliation's patience: the call Twilio made belongs to
    nobody, and the customer must not be called twice at once, so it is hung up."""
    make_entry(session)
    session.commit()

    def give_up(_form: dict[str, list[str]]) -> None:
        with Session(session.get_bind()) as other, other.begin():
            [attempt_id] = other.scalars(sa.select(Attempt.id))
            release(other, CONFIG, attempt_id, now=DISPATCH_NOW)

    fake_twilio.on_create = give_up

    result = tick(CONFIG)

    [call] = fake_twilio.calls
    assert fake_twilio.updates == [(call.sid, {"Status": ["completed"]})]
    assert result.placed == 0
    [attempt] = attempts(session)
    assert_given_back(attempt)
