"""Segment days are whole local calendar days; birthday months follow the campaign's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy.orm import Session

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segment_parser import parse_segment
from dialer.campaigns.segments import Between, Compare, FieldRef, OneOf, Op, SegmentField
from dialer.models import Customer, NaiveDatetimeError
from dialer.segment_sql import segment_member_ids
from dialer.segment_sql.days import DayCounter, DayRange, day_ranges
from tests.factories import make_customer, make_mailing, make_order

JST = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=JST)
DAYS = FieldRef(SegmentField.FIRST_ORDER_DAYS_AGO)


def members(
    session: Session,
    text: str,
    *,
    as_of: datetime = AS_OF,
    timezone: ZoneInfo = JST,
) -> list[int]:
    segment = parse_segment(yaml.safe_load(text))
    return segment_member_ids(session, segment, rfm=Rfm(), as_of=as_of, timezone=timezone)


def ordered_at(session: Session, *instants: datetime) -> Customer:
    """A customer with one order at each instant."""
    customer = make_customer(session)
    for instant in instants:
        make_order(session, customer, ordered_at=instant)
    return customer


def test_a_day_ends_at_local_midnight(session: Session) -> None:
    late = ordered_at(session, datetime(2026, 11, 8, 23, 30, tzinfo=JST))
    early = ordered_at(session, datetime(2026, 11, 9, 0, 10, tzinfo=JST))
    session.commit()
    assert members(session, "first_order_days_ago: 14") == [late.id]
    assert members(session, "first_order_days_ago: 13") == [early.id]
    assert members(session, "first_order_days_ago: {between: [14, 45]}") == [late.id]


def test_between_includes_both_ends_to_the_minute(session: Session) -> None:
    inside = [
        ordered_at(session, datetime(2026, 11, 8, 23, 59, 59, tzinfo=JST)),
        ordered_at(session, datetime(2026, 10, 8, 0, 0, tzinfo=JST)),
    ]
    ordered_at(session, datetime(2026, 11, 9, 0, 0, tzinfo=JST))
    ordered_at(session, datetime(2026, 10, 7, 23, 59, 59, tzinfo=JST))
    session.commit()
    assert members(session, "first_order_days_ago: {between: [14, 45]}") == [c.id for c in inside]


def test_the_time_of_as_of_within_its_day_does_not_matter(session: Session) -> None:
    customer = ordered_at(session, datetime(2026, 11, 8, 23, 30, tzinfo=JST))
    session.commit()
    for as_of in (
        datetime(2026, 11, 22, 0, 0, tzinfo=JST),
        datetime(2026, 11, 22, 23, 59, tzinfo=JST),
    ):
        assert members(session, "first_order_days_ago: 14", as_of=as_of) == [customer.id]


def test_days_are_counted_in_the_campaign_zone_not_in_the_zone_of_as_of(session: Session) -> None:
    customer = ordered_at(session, datetime(2026, 11, 8, 23, 30, tzinfo=JST))
    session.commit()
    as_of = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)  # 2026-11-22 00:30 in Tokyo
    assert members(session, "first_order_days_ago: 14", as_of=as_of) == [customer.id]
    assert members(session, "first_order_days_ago: 13", as_of=as_of, timezone=ZoneInfo("UTC")) == [
        customer.id
    ]


def test_days_follow_local_midnight_across_a_dst_change(session: Session) -> None:
    # New York falls back on 2026-11-01: that day lasts 25 hours.
    first_hour = ordered_at(session, datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK))
    last_hour = ordered_at(session, datetime(2026, 11, 1, 23, 30, tzinfo=NEW_YORK))
    day_before = ordered_at(session, datetime(2026, 10, 31, 23, 30, tzinfo=NEW_YORK))
    session.commit()
    as_of = datetime(2026, 11, 2, 12, 0, tzinfo=NEW_YORK)
    one_day = members(session, "last_order_days_ago: 1", as_of=as_of, timezone=NEW_YORK)
    assert one_day == [first_hour.id, last_hour.id]
    two_days = members(session, "last_order_days_ago: 2", as_of=as_of, timezone=NEW_YORK)
    assert two_days == [day_before.id]


def test_a_day_that_starts_in_a_dst_gap_starts_when_the_clocks_jump(session: Session) -> None:
    # Santiago skips 2026-09-06 00:00-01:00: that day begins at 01:00 -03, i.e. 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    first_instant = ordered_at(session, datetime(2026, 9, 6, 4, 0, tzinfo=UTC))
    just_before = ordered_at(session, datetime(2026, 9, 6, 3, 59, 59, tzinfo=UTC))
    session.commit()
    as_of = datetime(2026, 9, 7, 12, 0, tzinfo=santiago)
    one_day = members(session, "last_order_days_ago: 1", as_of=as_of, timezone=santiago)
    two_days = members(session, "last_order_days_ago: 2", as_of=as_of, timezone=santiago)
    assert (one_day, two_days) == ([first_instant.id], [just_before.id])


def test_mailing_days_use_the_same_calendar(session: Session) -> None:
    late, early = make_customer(session), make_customer(session)
    make_mailing(session, late, mailing="dm", sent_at=datetime(2026, 11, 19, 23, 59, tzinfo=JST))
    make_mailing(session, early, mailing="dm", sent_at=datetime(2026, 11, 12, 0, 0, tzinfo=JST))
    session.commit()
    assert members(session, "days_since_mailing: {mailing: dm, between: [3, 10]}") == [
        late.id,
        early.id,
    ]
    assert members(session, "days_since_mailing: {mailing: other, gte: 0}") == []


def test_customer_since_counts_from_the_earlier_of_first_order_and_record(session: Session) -> None:
    imported = ordered_at(session, datetime(2026, 1, 1, 10, 0, tzinfo=JST))
    imported.created_at = datetime(2026, 11, 20, 9, 0, tzinfo=JST)
    registered = ordered_at(session, datetime(2026, 11, 1, 10, 0, tzinfo=JST))
    registered.created_at = datetime(2026, 1, 1, 9, 0, tzinfo=JST)
    no_orders = make_customer(session)
    no_orders.created_at = datetime(2026, 1, 1, 23, 0, tzinfo=JST)
    session.commit()
    assert members(session, "customer_since_days: 325") == [
        imported.id,
        registered.id,
        no_orders.id,
    ]


@pytest.mark.parametrize(
    ("as_of", "current", "following"),
    [
        pytest.param(datetime(2026, 11, 22, 12, 0, tzinfo=JST), 11, 12, id="november"),
        pytest.param(datetime(2026, 12, 15, 12, 0, tzinfo=JST), 12, 1, id="december-wraps"),
        pytest.param(
            datetime(2026, 11, 30, 15, 30, tzinfo=UTC), 12, 1, id="already-december-in-tokyo"
        ),
        pytest.param(datetime(2027, 1, 5, 12, 0, tzinfo=JST), 1, 2, id="january"),
    ],
)
def test_birthday_month_current_and_next(
    session: Session, as_of: datetime, current: int, following: int
) -> None:
    born = {
        month: make_customer(session, birthday=date(1980, month, 10)).id for month in range(1, 13)
    }
    make_customer(session, birthday=None)
    session.commit()
    assert members(session, "birthday_month: current", as_of=as_of) == [born[current]]
    assert members(session, "birthday_month: next", as_of=as_of) == [born[following]]


def test_leap_day_birthdays_are_in_february(session: Session) -> None:
    leap = make_customer(session, birthday=date(1996, 2, 29))
    session.commit()
    assert members(session, "birthday_month: 2") == [leap.id]


def test_as_of_must_be_aware(session: Session) -> None:
    naive = datetime(2026, 11, 22, 12, 0)  # noqa: DTZ001  (the point of the test)
    with pytest.raises(NaiveDatetimeError):
        members(session, "orders_count: 1", as_of=naive)


# The day arithmetic itself


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        pytest.param(Compare(DAYS, Op.EQUALS, 3), [DayRange(3, 3)], id="equals"),
        pytest.param(Compare(DAYS, Op.EQUALS, 2.5), [], id="fractional-equals-matches-nothing"),
        pytest.param(Compare(DAYS, Op.GT, 3), [DayRange(4, None)], id="gt"),
        pytest.param(Compare(DAYS, Op.GT, 2.5), [DayRange(3, None)], id="gt-fraction"),
        pytest.param(Compare(DAYS, Op.GTE, 2.5), [DayRange(3, None)], id="gte-fraction"),
        pytest.param(Compare(DAYS, Op.LT, 3), [DayRange(None, 2)], id="lt"),
        pytest.param(Compare(DAYS, Op.LT, 2.5), [DayRange(None, 2)], id="lt-fraction"),
        pytest.param(Compare(DAYS, Op.LTE, 2.5), [DayRange(None, 2)], id="lte-fraction"),
        pytest.param(Between(DAYS, 14, 45), [DayRange(14, 45)], id="between"),
        pytest.param(Between(DAYS, 2.2, 2.8), [], id="between-no-whole-day"),
        pytest.param(OneOf(DAYS, (7, 3, 7)), [DayRange(3, 3), DayRange(7, 7)], id="in"),
    ],
)
def test_day_ranges(leaf: Compare | Between | OneOf, expected: list[DayRange]) -> None:
    assert day_ranges(leaf) == expected


def test_day_range_becomes_a_half_open_range_of_instants() -> None:
    counter = DayCounter(AS_OF, JST)
    lower, upper = counter.instant_bounds(DayRange(14, 45))
    assert lower == datetime(2026, 10, 8, 0, 0, tzinfo=JST)
    assert upper == datetime(2026, 11, 9, 0, 0, tzinfo=JST)


def test_huge_day_counts_stay_representable() -> None:
    counter = DayCounter(AS_OF, JST)
    assert counter.start_of_day(10**9).year < 1900
    assert counter.start_of_day(-(10**9)).year > 2200
