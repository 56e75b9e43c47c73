"""The check at the moment of dialling: each rule alone keeps an entry from being dialled.

Every test sets up one due entry that would be dialled, adds one reason not to, and runs a
dispatch tick: no create request may reach Twilio, and the entry says why.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialer.guard import BUSY_DELAY, Action, check_entries
from dialer.models import CallListEntry, CallStatus, EntryState
from tests.conftest import DISPATCH_NOW, FakeTwilio, Tick
from tests.factories import (
    CAMPAIGN_ID,
    dispatch_campaign,
    make_attempt,
    make_customer,
    make_dialled_attempt,
    make_dispatch_config,
    make_dnc_entry,
    make_entry,
    make_key_press,
    make_refused_phone,
    unique_phone,
)

OTHER = "cancel-save"
CONFIG = make_dispatch_config(
    dispatch_campaign(CAMPAIGN_ID, priority=50),
    dispatch_campaign(OTHER, priority=90),
    dispatch_campaign("consent-only", require_opt_in=True, priority=40),
)


def state_of(session: Session, entry: CallListEntry) -> tuple[EntryState, str | None]:
    session.refresh(entry)
    state = (entry.state, entry.suppressed_reason)
    session.commit()
    return state


def test_an_entry_with_no_reason_against_it_is_dialled(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()

    tick(CONFIG)

    assert fake_twilio.dialled() == [entry.phone]


def test_dnc_by_customer_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    make_dnc_entry(session, customer=entry.customer)
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "dnc")


def test_dnc_on_any_of_the_customers_numbers_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    home, mobile = unique_phone(), unique_phone()
    entry = make_entry(session, make_customer(session, phones=[mobile, home]))
    make_dnc_entry(session, phone=home)
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "dnc")


def test_an_expired_dnc_entry_no_longer_blocks(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    make_dnc_entry(session, phone=entry.phone, expires_at=DISPATCH_NOW - timedelta(days=1))
    session.commit()

    tick(CONFIG)

    assert fake_twilio.dialled() == [entry.phone]


def test_dnc_added_after_the_list_was_built_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    make_dnc_entry(session, phone=entry.phone, added_at=DISPATCH_NOW - timedelta(minutes=1))
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []


def test_a_refusal_in_another_campaign_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    make_entry(
        session,
        entry.customer,
        campaign_id=OTHER,
        state=EntryState.DONE,
        next_attempt_at=None,
        closed_reason="refused",
    )
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "refused")


def test_an_opt_out_key_pressed_on_an_earlier_call_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    earlier = make_dialled_attempt(
        session, entry.customer, campaign_id=OTHER, started_at=DISPATCH_NOW - timedelta(days=30)
    )
    make_key_press(session, earlier, action="opt_out")
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "refused")


def test_a_person_reached_by_another_campaign_is_left_alone_for_the_cooldown(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    make_dialled_attempt(
        session,
        entry.customer,
        campaign_id=OTHER,
        started_at=DISPATCH_NOW - timedelta(days=2),
        answered_by="human",
        outcome="human",
    )
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "cooldown")


def test_the_weekly_cap_counts_attempts_of_every_campaign(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    for days in (1, 3, 6):
        make_dialled_attempt(
            session,
            entry.customer,
            campaign_id=OTHER,
            started_at=DISPATCH_NOW - timedelta(days=days),
        )
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "weekly_cap")


def test_a_higher_priority_campaign_holding_the_customer_blocks_the_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    make_entry(
        session, entry.customer, campaign_id=OTHER, next_attempt_at=DISPATCH_NOW + timedelta(1)
    )
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "higher_priority")


def test_a_campaign_that_needs_consent_does_not_call_without_it(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session, make_customer(session, opt_in=False), campaign_id="consent-only")
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "no_consent")


def test_a_number_judged_undialable_since_the_list_build_is_not_dialled(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    [phone] = entry.customer.phones
    phone.refusal_reason = "invalid"
    session.commit()

    tick(CONFIG)

    assert fake_twilio.creates == []
    assert state_of(session, entry) == (EntryState.SUPPRESSED, "no_dialable_phone")


def test_the_customers_first_dialable_number_now_is_the_one_dialled(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    first, second = unique_phone(), unique_phone()
    customer = make_customer(session, phones=[first, second])
    entry = make_entry(session, customer)
    customer.phones[0].refusal_reason = "invalid"
    make_refused_phone(session, customer)
    session.commit()

    tick(CONFIG)

    assert fake_twilio.dialled() == [second]
    session.refresh(entry)
    assert entry.phone == second


def test_a_customer_on_a_call_in_another_campaign_is_not_called_twice(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(
        dispatch_campaign(CAMPAIGN_ID, priority=90), dispatch_campaign(OTHER, priority=10)
    )
    entry = make_entry(session)
    busy = make_entry(session, entry.customer, campaign_id=OTHER, state=EntryState.IN_PROGRESS)
    make_attempt(session, busy, started_at=DISPATCH_NOW - timedelta(minutes=1))
    session.commit()

    result = tick(config)

    assert (result.deferred, fake_twilio.creates) == (1, [])
    session.refresh(entry)
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at == DISPATCH_NOW + BUSY_DELAY


def test_two_entries_dialling_one_number_in_a_batch_place_one_call(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    shared = unique_phone()
    first = make_entry(session, make_customer(session, phones=[shared]), priority=2)
    second = make_entry(session, make_customer(session, phones=[shared]), priority=1)
    session.commit()

    tick(CONFIG)

    assert fake_twilio.dialled() == [shared]
    session.refresh(first)
    session.refresh(second)
    assert (first.state, second.state) == (EntryState.IN_PROGRESS, EntryState.PENDING)


@pytest.mark.parametrize("status", [CallStatus.RINGING, None], ids=["ringing", "unacknowledged"])
def test_check_entries_sees_a_live_call_on_the_same_number(
    session: Session, status: CallStatus | None
) -> None:
    shared = unique_phone()
    entry = make_entry(session, make_customer(session, phones=[shared]))
    live = make_entry(session, make_customer(session, phones=[shared]), campaign_id=OTHER)
    make_attempt(session, live, started_at=DISPATCH_NOW, status=status)
    live.state = EntryState.IN_PROGRESS
    session.flush()

    verdicts = check_entries(session, CONFIG, [entry], now=DISPATCH_NOW)

    assert verdicts[entry.id].action is Action.DEFER
    assert verdicts[entry.id].reason == "on_a_call"


def test_an_entry_due_again_while_its_own_call_goes_on_is_not_dialled(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    """A callback key press makes the entry pending (due in 30 minutes) while the call that
    asked for it has not hung up yet; its status callback may arrive late."""
    entry = make_entry(session, next_attempt_at=DISPATCH_NOW)
    make_attempt(
        session,
        entry,
        started_at=DISPATCH_NOW - timedelta(minutes=40),
        status=CallStatus.IN_PROGRESS,
    )
    session.commit()

    result = tick(CONFIG)

    assert (result.deferred, fake_twilio.creates) == (1, [])
    session.refresh(entry)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, DISPATCH_NOW + BUSY_DELAY)
