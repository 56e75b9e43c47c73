"""Pacing: calls per second, calls in flight and the hold queue, held in the database."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.models import ACCOUNT_SCOPE, Attempt, CallStatus, EntryState, PacingScope
from dialer.pacing import (
    BACKOFF_CAP,
    Limits,
    backoff,
    live_calls,
    pause_account,
    waiting_in_queue,
)
from tests.conftest import DISPATCH_NOW, FakeTwilio, SlotWaits, Tick
from tests.factories import (
    CAMPAIGN_ID,
    dispatch_campaign,
    make_attempt,
    make_dispatch_config,
    make_entry,
    make_key_press,
)

SECOND = timedelta(seconds=1)
NO_LEAD = timedelta(0)


def interval(cps: float) -> timedelta:
    """The spacing of slots at `cps`: a little over 1/cps."""
    return Limits(cps, 1).interval


def test_slots_are_a_little_over_one_cps_apart() -> None:
    assert SECOND / 5 < interval(5) <= SECOND / 5 * 1.02


def due_entries(session: Session, count: int, campaign_id: str = CAMPAIGN_ID) -> None:
    for _ in range(count):
        make_entry(session, campaign_id=campaign_id)
    session.commit()


def started(session: Session) -> list[Attempt]:
    session.expire_all()
    rows = list(session.scalars(sa.select(Attempt).order_by(Attempt.started_at)))
    session.commit()
    return rows


def end_call(session: Session, attempt: Attempt) -> None:
    attempt.status = CallStatus.COMPLETED
    attempt.ended_at = DISPATCH_NOW
    session.commit()


def test_at_one_call_per_second_two_ticks_at_one_instant_place_one_call(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=1), account_cps=1)
    due_entries(session, 3)

    tick(config)
    tick(config)

    assert len(fake_twilio.creates) == 1


def test_a_tick_half_a_second_later_releases_its_call_a_second_after_the_first(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=1), account_cps=1)
    due_entries(session, 3)

    tick(config, lead=NO_LEAD)
    tick(config, now=DISPATCH_NOW + SECOND / 2, lead=NO_LEAD)

    assert slot_waits.slots == [DISPATCH_NOW, DISPATCH_NOW + interval(1)]
    assert [attempt.started_at for attempt in started(session)] == slot_waits.slots


def test_a_tick_hands_out_slots_only_within_its_horizon(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=4), account_cps=10)
    due_entries(session, 10)

    tick(config, lead=NO_LEAD, horizon=SECOND / 2)

    assert slot_waits.slots == [DISPATCH_NOW, DISPATCH_NOW + interval(4)]


def test_slots_within_a_tick_are_spaced_by_the_campaigns_rate(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=4), account_cps=10)
    due_entries(session, 10)

    tick(config, lead=NO_LEAD)

    assert slot_waits.slots == [DISPATCH_NOW + interval(4) * k for k in range(4)]


def test_the_account_rate_is_shared_by_every_campaign(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(
        dispatch_campaign("a", cps=2, priority=60),
        dispatch_campaign("b", cps=2, priority=40),
        account_cps=2,
    )
    due_entries(session, 1, "a")
    due_entries(session, 3, "b")

    tick(config, lead=NO_LEAD)
    tick(config, now=DISPATCH_NOW + SECOND / 10, lead=NO_LEAD)

    assert slot_waits.slots == [DISPATCH_NOW + interval(2) * k for k in range(3)]
    assert [attempt.campaign_id for attempt in started(session)] == ["a", "b", "b"]


def test_unused_time_is_not_saved_up_for_a_burst(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=2), account_cps=2)
    due_entries(session, 1)
    tick(config, lead=NO_LEAD)
    due_entries(session, 10)

    tick(config, now=DISPATCH_NOW + timedelta(minutes=10), lead=NO_LEAD)

    later = DISPATCH_NOW + timedelta(minutes=10)
    assert slot_waits.slots[1:] == [later, later + interval(2)]


def test_a_call_too_late_for_its_slot_takes_the_next_free_one(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=2), account_cps=2)
    due_entries(session, 2)
    slot_waits.lateness = [timedelta(milliseconds=300)]

    tick(config, lead=NO_LEAD)

    first, reslotted, second = slot_waits.slots
    assert first == DISPATCH_NOW
    assert reslotted == DISPATCH_NOW + 2 * interval(2)  # after the slot the other call holds
    assert second == DISPATCH_NOW + interval(2)
    assert sorted(attempt.started_at for attempt in started(session)) == [second, reslotted]
    assert len(fake_twilio.creates) == 2


def test_a_call_late_within_the_tolerance_keeps_its_slot(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    due_entries(session, 1)
    slot_waits.lateness = [timedelta(milliseconds=5)]

    tick(make_dispatch_config(), lead=NO_LEAD)

    assert slot_waits.slots == [DISPATCH_NOW]


def test_at_a_rate_faster_than_the_tolerance_a_late_call_keeps_its_slot(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    config = make_dispatch_config(dispatch_campaign(cps=200), account_cps=200)
    due_entries(session, 2)
    slot_waits.lateness = [timedelta(milliseconds=50)]

    tick(config, lead=NO_LEAD)

    assert slot_waits.slots == [DISPATCH_NOW, DISPATCH_NOW + interval(200)]


def test_the_campaigns_calls_in_flight_never_exceed_its_limit(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(dispatch_campaign(max_concurrent=2))
    due_entries(session, 5)

    tick(config)
    tick(config, now=DISPATCH_NOW + 5 * SECOND)
    assert len(fake_twilio.creates) == 2

    end_call(session, started(session)[0])
    tick(config, now=DISPATCH_NOW + 10 * SECOND)

    assert len(fake_twilio.creates) == 3


def test_the_accounts_calls_in_flight_limit_wins_over_the_campaigns(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(
        dispatch_campaign("a", max_concurrent=3, priority=60),
        dispatch_campaign("b", max_concurrent=3, priority=40),
        max_concurrent_calls=4,
    )
    due_entries(session, 3, "a")
    due_entries(session, 3, "b")

    tick(config)
    tick(config, now=DISPATCH_NOW + 5 * SECOND)

    assert len(fake_twilio.creates) == 4


def test_attempts_older_than_the_live_horizon_are_not_calls_in_flight(session: Session) -> None:
    make_attempt(session, started_at=DISPATCH_NOW - timedelta(hours=3), status=CallStatus.RINGING)
    make_attempt(session, started_at=DISPATCH_NOW - timedelta(minutes=3), status=None)
    make_attempt(session, started_at=DISPATCH_NOW, status=CallStatus.COMPLETED)
    session.flush()

    assert live_calls(session, now=DISPATCH_NOW) == {CAMPAIGN_ID: 1}


def queue_config(mode: str = "ivr-then-agent") -> object:
    return make_dispatch_config(dispatch_campaign(mode=mode))


def caller_waiting(session: Session, *, queue_result: str | None = None) -> Attempt:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, started_at=DISPATCH_NOW - timedelta(minutes=1))
    attempt.status = CallStatus.IN_PROGRESS
    attempt.queue_result = queue_result
    make_key_press(session, attempt, action="agent", digits="1")
    session.commit()
    return attempt


def test_a_full_hold_queue_stops_the_campaigns_dialling(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(dispatch_campaign(mode="ivr-then-agent"))  # one operator
    caller_waiting(session)
    due_entries(session, 2)

    tick(config)

    assert waiting_in_queue(session, CAMPAIGN_ID, now=DISPATCH_NOW) == 1
    assert fake_twilio.creates == []


def test_dialling_resumes_once_the_waiting_caller_is_taken(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(dispatch_campaign(mode="ivr-then-agent"))
    waiting = caller_waiting(session)
    due_entries(session, 1)
    waiting.queue_result = "bridged"
    session.commit()

    tick(config)

    assert len(fake_twilio.creates) == 1


def test_an_agentless_campaign_has_no_queue_to_wait_for(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    caller_waiting(session)
    due_entries(session, 1)

    tick(make_dispatch_config(dispatch_campaign(mode="agentless")))

    assert len(fake_twilio.creates) == 1


def test_a_pause_stops_every_worker_until_it_ends(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config()
    due_entries(session, 1)
    with session.begin():
        until = pause_account(session, now=DISPATCH_NOW, retry_after=30, rng=random.Random(1))

    tick(config, now=DISPATCH_NOW + 29 * SECOND)
    assert fake_twilio.creates == []
    tick(config, now=until)

    assert until == DISPATCH_NOW + 30 * SECOND
    assert len(fake_twilio.creates) == 1
    scope = session.get_one(PacingScope, ACCOUNT_SCOPE)
    assert scope.failures == 0  # the accepted call reset the count
    session.commit()


def test_pauses_in_a_row_count_the_refusals(session: Session) -> None:
    rng = random.Random(3)
    for expected in (1, 2, 3):
        with session.begin():
            pause_account(session, now=DISPATCH_NOW, retry_after=None, rng=rng)
        assert session.get_one(PacingScope, ACCOUNT_SCOPE).failures == expected
        session.commit()


@pytest.mark.parametrize("failures", [1, 2, 3, 6, 20])
def test_backoff_doubles_with_jitter_up_to_its_cap(failures: int) -> None:
    ceiling = min(BACKOFF_CAP, SECOND * 2 ** (failures - 1))
    delays = [backoff(failures, retry_after=None, rng=random.Random(seed)) for seed in range(50)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1


def test_backoff_is_never_shorter_than_retry_after() -> None:
    assert backoff(1, retry_after=42.5, rng=random.Random(0)) == timedelta(seconds=42.5)
