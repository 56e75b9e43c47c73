"""Dispatch: which entries a tick claims, what it sends Twilio, and what it writes first.

Twilio is mocked at the HTTP layer (`fake_twilio`) behind the real `TwilioProvider`, so the form
fields asserted here are the ones Twilio would receive.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.campaign_control import pause, resume
from dialer.dispatch import DispatchConfigError, dispatch_tick
from dialer.models import Attempt, CallListEntry, CallStatus, EntryState
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from tests.conftest import DISPATCH_NOW, PUBLIC_BASE_URL, FakeTwilio, SlotWaits, Tick
from tests.factories import (
    CAMPAIGN_ID,
    dispatch_campaign,
    make_attempt,
    make_customer,
    make_dispatch_config,
    make_entry,
)

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
CALLER_ID = "+81312345678"


def attempts(session: Session) -> list[Attempt]:
    session.expire_all()
    return list(session.scalars(sa.select(Attempt).order_by(Attempt.id)))


def test_places_a_due_entry_with_exactly_the_expected_fields(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()

    result = tick(make_dispatch_config())

    assert result.placed == 1
    [attempt] = attempts(session)
    assert fake_twilio.creates == [
        {
            "To": [entry.phone],
            "From": [CALLER_ID],
            "Url": [f"{PUBLIC_BASE_URL}/twilio/voice/{attempt.id}"],
            "Method": ["POST"],
            "StatusCallback": [f"{PUBLIC_BASE_URL}/twilio/status?attempt={attempt.id}"],
            "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
            "StatusCallbackMethod": ["POST"],
            "Timeout": ["25"],
            "MachineDetection": ["Enable"],
            "AsyncAmd": ["true"],
            "AsyncAmdStatusCallback": [f"{PUBLIC_BASE_URL}/twilio/amd?attempt={attempt.id}"],
            "AsyncAmdStatusCallbackMethod": ["POST"],
        }
    ]


def test_waits_for_the_message_end_when_the_campaign_leaves_a_message(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(leaves_message=True)))

    assert fake_twilio.creates[0]["MachineDetection"] == ["DetectMessageEnd"]


def test_sent_fields_are_declared_by_twilios_create_call(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Twilio's OpenAPI description is not at {SPEC_PATH}")
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    operation = next(
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == "CreateCall"
    )
    schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    make_entry(session)
    session.commit()

    tick(make_dispatch_config())

    sent = fake_twilio.creates[0]
    assert set(sent) <= set(schema["properties"])
    assert set(schema.get("required", [])) <= set(sent)


def test_attempt_is_committed_before_the_rest_call(
    session: Session, engine: Engine, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()
    seen: list[tuple[Any, ...]] = []

    def look_from_another_connection(form: dict[str, list[str]]) -> None:
        attempt_id = int(form["Url"][0].rsplit("/", 1)[-1])
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(
                    Attempt.attempt_number,
                    Attempt.call_sid,
                    Attempt.status,
                    CallListEntry.state,
                )
                .join(CallListEntry, CallListEntry.id == Attempt.entry_id)
                .where(Attempt.id == attempt_id)
            ).one()
            seen.append(tuple(row))

    fake_twilio.on_create = look_from_another_connection

    tick(make_dispatch_config())

    assert seen == [(1, None, None, EntryState.IN_PROGRESS)]
    session.refresh(entry)
    assert entry.attempt_count == 1


def test_records_the_call_sid_and_status_after_the_create(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    session.commit()

    tick(make_dispatch_config())

    [attempt] = attempts(session)
    assert attempt.call_sid == fake_twilio.calls[0].sid
    assert attempt.status is CallStatus.QUEUED
    assert attempt.caller_id == CALLER_ID
    assert attempt.phone == entry.phone
    session.refresh(entry)
    assert entry.state is EntryState.IN_PROGRESS
    assert entry.last_attempt_at == attempt.started_at


def test_attempt_starts_at_its_slot_and_the_tick_waits_for_it(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(), lead=timedelta(milliseconds=100))

    [attempt] = attempts(session)
    assert attempt.started_at == DISPATCH_NOW + timedelta(milliseconds=100)
    assert slot_waits.slots == [attempt.started_at]


def test_attempt_number_follows_the_attempts_already_made(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    entry = make_entry(session)
    first = make_attempt(
        session,
        entry,
        started_at=DISPATCH_NOW - timedelta(days=3),
        status=CallStatus.BUSY,
        outcome="busy",
        ended_at=DISPATCH_NOW - timedelta(days=3),
    )
    entry.state = EntryState.PENDING
    session.commit()

    tick(make_dispatch_config())

    numbers = [attempt.attempt_number for attempt in attempts(session)]
    assert numbers == [first.attempt_number, first.attempt_number + 1]
    session.refresh(entry)
    assert entry.attempt_count == 2


def test_claims_by_campaign_priority_then_entry_priority_then_due_time(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(
        dispatch_campaign("low", priority=10), dispatch_campaign("high", priority=90)
    )
    early = DISPATCH_NOW - timedelta(hours=2)
    late = DISPATCH_NOW - timedelta(hours=1)
    rows = {
        "low-urgent": make_entry(session, campaign_id="low", priority=99, next_attempt_at=early),
        "high-late": make_entry(session, campaign_id="high", priority=5, next_attempt_at=late),
        "high-early": make_entry(session, campaign_id="high", priority=5, next_attempt_at=early),
        "high-top": make_entry(session, campaign_id="high", priority=7, next_attempt_at=late),
    }
    session.commit()
    by_phone = {entry.phone: name for name, entry in rows.items()}

    tick(config, batch_size=3)

    assert [by_phone[phone] for phone in fake_twilio.dialled()] == [
        "high-top",
        "high-early",
        "high-late",
    ]


def test_entries_not_yet_due_or_not_pending_are_left_alone(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session, next_attempt_at=DISPATCH_NOW + timedelta(minutes=1))
    make_entry(session, state=EntryState.SUPPRESSED)
    make_entry(session, state=EntryState.DONE, next_attempt_at=None)
    session.commit()

    result = tick(make_dispatch_config())

    assert (result.claimed, fake_twilio.creates) == (0, [])


def test_disabled_campaign_does_not_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(enabled=False)))

    assert fake_twilio.creates == []


def test_a_campaign_paused_from_the_dashboard_does_not_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    pause(session, CAMPAIGN_ID, by="supervisor", now=DISPATCH_NOW)
    session.commit()

    result = tick(make_dispatch_config())
    assert (result.claimed, fake_twilio.creates) == (0, [])

    resume(session, CAMPAIGN_ID, by="supervisor", now=DISPATCH_NOW)
    session.commit()
    tick(make_dispatch_config())

    assert len(fake_twilio.creates) == 1


@pytest.mark.parametrize(
    "dates",
    [(date(2026, 11, 3), date(2026, 11, 30)), (date(2026, 10, 1), date(2026, 11, 1))],
    ids=["not-started", "over"],
)
def test_campaign_outside_its_dates_does_not_dial(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, dates: tuple[date, date]
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(dates=dates)))

    assert fake_twilio.creates == []


def test_entries_of_unknown_campaigns_are_never_claimed(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session, campaign_id="removed-from-the-file")
    session.commit()

    result = tick(make_dispatch_config())

    assert (result.claimed, fake_twilio.creates) == (0, [])


def test_more_is_reported_when_the_batch_was_full(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    for _ in range(3):
        make_entry(session)
    session.commit()

    first = tick(make_dispatch_config(), batch_size=2)
    second = tick(make_dispatch_config(), batch_size=2)

    assert (first.placed, first.more) == (2, True)
    assert (second.placed, second.more) == (1, False)


def test_dispatch_refuses_to_dial_without_a_public_base_url(
    session: Session,
    sessions: Any,
    provider: TwilioProvider,
    dialer_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:
    make_entry(session, customer=make_customer(session))
    session.commit()
    settings = Settings(**{**vars(dialer_settings), "public_base_url": None})

    with pytest.raises(DispatchConfigError, match="PUBLIC_BASE_URL"):
        dispatch_tick(sessions, make_dispatch_config(), provider, settings, now=DISPATCH_NOW)

    assert fake_twilio.creates == []
