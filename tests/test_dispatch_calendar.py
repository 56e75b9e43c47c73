"""Never a call outside the calendar (DESIGN.md, invariant 1), whatever the configuration.

The property test draws calling windows, company hours, blackouts, last-dial margins and
instants (ordinary ones, and days that are public holidays, 振替休日, 国民の休日 or 年末年始),
runs one dispatch tick on a fresh due entry, and checks that a call is placed exactly when
the calendar allows one both at the tick's instant and at the call's slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.calendar import is_callable, next_callable
from dialer.campaigns import Config, calling_rules
from dialer.models import Attempt, Base, EntryState
from tests.conftest import FakeTwilio, SlotWaits, Tick
from tests.factories import (
    CAMPAIGN_ID,
    dispatch_campaign,
    make_dispatch_config,
    make_entry,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def at(year: int, month: int, day: int, hour: int, minute: int = 0, second: float = 0) -> datetime:
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime(year, month, day, hour, minute, whole, micro, tzinfo=TOKYO)


def empty_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def dialled(session: Session) -> list[Attempt]:
    """The attempts written, read in a transaction that ends at once (SQLite's write lock)."""
    session.expire_all()
    rows = list(session.scalars(sa.select(Attempt)))
    session.commit()
    return rows


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """A campaign file with random hours, windows, blackouts and margin."""
    open_hour = draw(st.integers(8, 12))
    close_hour = draw(st.integers(open_hour + 2, 21))
    windows: dict[str, list[str]] = {}
    for day in draw(st.sets(st.sampled_from(DAYS), min_size=1)):
        start = draw(st.integers(open_hour, close_hour - 1))
        end = draw(st.integers(start + 1, close_hour))
        minute = draw(st.sampled_from([0, 15, 30]))
        windows[day] = [f"{start:02d}:{minute:02d}-{end:02d}:00"]
    blackouts = [
        {"from": f"{m1:02d}-{d1:02d}", "to": f"{m2:02d}-{d2:02d}", "name": "休業日"}
        for m1, d1, m2, d2 in draw(
            st.lists(
                st.tuples(
                    st.integers(1, 12), st.integers(1, 28), st.integers(1, 12), st.integers(1, 28)
                ),
                max_size=2,
            )
        )
    ]
    blackouts.append({"from": "12-29", "to": "01-03", "name": "年末年始"})
    margin = draw(st.sampled_from(["0m", "5m", "10m", "30m"]))
    return make_dispatch_config(
        dispatch_campaign(windows=windows),
        hours=f"{open_hour:02d}:00-{close_hour:02d}:00",
        blackouts=blackouts,
        last_dial_before_close=margin,
    )


HOLIDAYS = [
    at(2027, 1, 11, 10),  # 成人の日
    at(2026, 5, 6, 11),  # 振替休日
    at(2026, 9, 22, 14),  # 国民の休日
    at(2026, 12, 30, 10),  # 年末年始
    at(2027, 1, 2, 10),  # 年末年始 (a Saturday)
    at(2026, 11, 3, 10),  # 文化の日
]

instants = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis draws naive, tz applied
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(TOKYO),
    ),
    st.builds(
        lambda day, seconds: day + timedelta(seconds=seconds),
        st.sampled_from(HOLIDAYS),
        st.integers(-2 * 3600, 8 * 3600),
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(config=configs(), now=instants)
def test_a_call_is_placed_exactly_when_the_calendar_allows_it(
    engine: Engine,
    session: Session,
    fake_twilio: FakeTwilio,
    tick: Tick,
    config: Config,
    now: datetime,
) -> None:
    empty_tables(engine)
    fake_twilio.creates.clear()
    make_entry(session, next_attempt_at=now - timedelta(minutes=1))
    session.commit()
    rules = calling_rules(config, CAMPAIGN_ID)
    lead = timedelta(milliseconds=100)

    tick(config, now=now, lead=lead)

    placed = dialled(session)
    allowed = is_callable(rules, now) and is_callable(rules, now + lead)
    assert len(fake_twilio.creates) == len(placed) == (1 if allowed else 0)
    for attempt in placed:
        assert is_callable(rules, now)
        assert is_callable(rules, attempt.started_at)


@pytest.mark.parametrize(
    "now", HOLIDAYS, ids=["seijin", "furikae", "kokumin", "nenmatsu", "nenshi", "bunka"]
)
def test_nothing_is_dialled_on_a_holiday_or_in_the_new_year_closure(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, now: datetime
) -> None:
    entry = make_entry(session, next_attempt_at=now - timedelta(days=1))
    session.commit()

    result = tick(make_dispatch_config(), now=now)

    assert (result.claimed, fake_twilio.creates) == (0, [])
    session.refresh(entry)
    assert entry.state is EntryState.PENDING


@pytest.mark.parametrize(
    "now",
    [at(2026, 11, 2, 19, 55), at(2026, 11, 2, 20, 30), at(2026, 11, 2, 8, 59, 59.9)],
    ids=["last-dial-margin", "after-hours", "before-hours"],
)
def test_nothing_is_dialled_outside_the_open_hours(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, now: datetime
) -> None:
    make_entry(session, next_attempt_at=now - timedelta(hours=1))
    session.commit()

    tick(make_dispatch_config(), now=now)

    assert fake_twilio.creates == []


def test_a_slot_past_the_last_dial_instant_defers_the_entry_to_the_next_opening(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config()
    now = at(2026, 11, 2, 19, 49, 59.95)  # open until 19:50 (20:00 less the 10-minute margin)
    entry = make_entry(session, next_attempt_at=now - timedelta(minutes=5))
    session.commit()

    result = tick(config, now=now, lead=timedelta(milliseconds=100))

    assert (result.deferred, fake_twilio.creates) == (1, [])
    session.refresh(entry)
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at == at(2026, 11, 3 + 1, 9, 0)  # 11-03 is 文化の日
    assert entry.next_attempt_at == next_callable(
        calling_rules(config, CAMPAIGN_ID), now + timedelta(milliseconds=100)
    )


def test_an_entry_left_closed_is_dialled_when_its_window_opens(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    config = make_dispatch_config(dispatch_campaign(windows={"mon-fri": ["13:00-18:00"]}))
    entry = make_entry(session, next_attempt_at=at(2026, 11, 2, 9, 0))
    session.commit()

    tick(config, now=at(2026, 11, 2, 12, 59, 59))
    assert fake_twilio.creates == []
    tick(config, now=at(2026, 11, 2, 13, 0))

    assert fake_twilio.dialled() == [entry.phone]


def test_the_window_is_read_in_the_campaigns_time_zone(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session, next_attempt_at=at(2026, 11, 2, 9, 0))
    session.commit()
    # 01:30 UTC is 10:30 in Tokyo: open, although a UTC reading would say night.
    now = datetime(2026, 11, 2, 1, 30, tzinfo=ZoneInfo("UTC"))

    tick(make_dispatch_config(), now=now)

    assert len(fake_twilio.creates) == 1


def test_a_call_given_a_fresh_slot_after_closing_time_is_not_placed(
    session: Session, fake_twilio: FakeTwilio, tick: Tick, slot_waits: SlotWaits
) -> None:
    now = at(2026, 11, 2, 19, 49, 59.85)  # the slot at 19:49:59.95 is open, barely
    entry = make_entry(session, next_attempt_at=now - timedelta(minutes=5))
    session.commit()
    slot_waits.lateness = [timedelta(milliseconds=200)]

    tick(make_dispatch_config(), now=now, lead=timedelta(milliseconds=100))

    assert fake_twilio.creates == []
    [attempt] = dialled(session)
    assert (attempt.outcome, attempt.call_sid) == ("canceled", None)
    session.refresh(entry)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, at(2026, 11, 4, 9))
    session.commit()
