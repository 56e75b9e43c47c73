"""The calling calendar: which days open, why the others are closed, when calling resumes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from dialer import calendar
from dialer.calendar import (
    Blackout,
    CallingRules,
    ClosedKind,
    Closure,
    UnknownHolidayCalendarError,
    closed_reason,
    day_schedule,
    is_callable,
    next_callable,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAY_WINDOWS = ((time(10), time(12)), (time(13), time(19)))
NEW_YEAR = Blackout(start=(12, 29), end=(1, 3), name="年末年始")
OBON = Blackout(start=(8, 13), end=(8, 16), name="お盆")

# The f2-followup campaign of campaigns.example.yaml, without its dates.
CAMPAIGN = CallingRules(
    timezone=TOKYO,
    windows={**dict.fromkeys(range(5), WEEKDAY_WINDOWS), 5: ((time(10), time(17)),)},
    policy_hours=(time(9), time(20)),
    holidays="JP",
    blackouts=(NEW_YEAR, OBON),
    last_dial_margin=timedelta(minutes=10),
)
MON_TO_FRI = replace(CAMPAIGN, windows=dict.fromkeys(range(5), WEEKDAY_WINDOWS))
WITH_DATES = replace(CAMPAIGN, first_day=date(2026, 12, 1), last_day=date(2027, 1, 31))


def tokyo(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 5, 6), "振替休日"),
        (date(2026, 9, 22), "国民の休日"),
        (date(2027, 1, 11), "成人の日"),
        (date(2026, 5, 4), "みどりの日"),
        (date(2026, 9, 21), "敬老の日"),
        (date(2026, 9, 23), "秋分の日"),
        (date(2026, 11, 23), "勤労感謝の日"),
        (date(2026, 5, 3), "憲法記念日"),  # a Sunday: the holiday, not the weekday, is named
    ],
    ids=lambda value: value.isoformat() if isinstance(value, date) else value,
)
def test_public_holiday_closes_the_day_under_its_japanese_name(day: date, name: str) -> None:
    schedule = day_schedule(CAMPAIGN, day)
    assert (schedule.open, schedule.closed, schedule.closed_kind) == ((), name, "holiday")


def test_day_after_a_holiday_opens_again() -> None:
    assert day_schedule(CAMPAIGN, date(2026, 5, 7)).open == (
        (time(10), time(11, 50)),
        (time(13), time(18, 50)),
    )


def test_holidays_off_leaves_holidays_open() -> None:
    schedule = day_schedule(replace(CAMPAIGN, holidays=None), date(2027, 1, 11))
    assert schedule.closed is None
    assert schedule.open


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 29) + timedelta(days=n) for n in range(6)],
    ids=lambda day: day.isoformat(),
)
def test_new_year_blackout_closes_dec_29_to_jan_3(day: date) -> None:
    schedule = day_schedule(CAMPAIGN, day)
    assert (schedule.open, schedule.closed, schedule.closed_kind) == ((), "年末年始", "blackout")


def test_blackout_takes_precedence_over_new_years_day() -> None:
    assert day_schedule(CAMPAIGN, date(2027, 1, 1)).closed == "年末年始"


@pytest.mark.parametrize(
    "day", [date(2026, 12, 28), date(2027, 1, 4)], ids=["dec-28-mon", "jan-4-mon"]
)
def test_weekdays_around_the_new_year_blackout_are_open(day: date) -> None:
    assert day_schedule(CAMPAIGN, day).open == ((time(10), time(11, 50)), (time(13), time(18, 50)))


@pytest.mark.parametrize(
    ("blackout", "day", "closed"),
    [
        (Blackout((2, 29), (3, 1), "閏日"), date(2027, 2, 26), False),
        (Blackout((2, 29), (3, 1), "閏日"), date(2027, 3, 1), True),
        (Blackout((2, 29), (3, 1), "閏日"), date(2028, 2, 29), True),
        (Blackout((2, 28), (2, 29), "月末"), date(2027, 2, 26), False),
        (Blackout((2, 28), (2, 29), "月末"), date(2028, 2, 28), True),
        (Blackout((2, 28), (2, 29), "月末"), date(2027, 3, 1), False),
        (Blackout((12, 31), (2, 29), "冬季"), date(2027, 3, 1), False),
        (Blackout((12, 31), (2, 29), "冬季"), date(2027, 2, 10), True),
    ],
    ids=[
        "feb29-start-2027-before",
        "feb29-start-2027-mar1",
        "feb29-start-leap-day",
        "feb29-end-2027-before",
        "feb29-end-2028-feb28",
        "feb29-end-2027-after",
        "feb29-end-crossing-new-year-after",
        "feb29-end-crossing-new-year-inside",
    ],
)
def test_feb_29_blackout_bounds_work_in_every_year(
    blackout: Blackout, day: date, closed: bool
) -> None:
    rules = replace(CAMPAIGN, holidays=None, blackouts=(blackout,))
    assert (day_schedule(rules, day).closed_kind == "blackout") is closed


def test_outside_the_campaign_dates_takes_precedence_over_everything() -> None:
    rules = replace(WITH_DATES, last_day=date(2026, 12, 30))
    assert day_schedule(rules, date(2026, 11, 30)).closed == "キャンペーン期間外"
    assert day_schedule(rules, date(2026, 12, 31)).closed_kind == "outside_dates"
    assert day_schedule(rules, date(2026, 12, 30)).closed_kind == "blackout"


def test_weekday_without_a_window_is_closed_under_its_name() -> None:
    schedule = day_schedule(CAMPAIGN, date(2026, 12, 20))
    assert (schedule.closed, schedule.closed_kind) == ("日曜日は発信枠なし", "no_window")


def test_windows_outside_policy_hours_leave_no_time() -> None:
    rules = replace(CAMPAIGN, windows={0: ((time(20), time(21)), (time(7), time(9)))})
    schedule = day_schedule(rules, date(2026, 12, 21))
    assert (schedule.open, schedule.closed, schedule.closed_kind) == (
        (),
        "発信可能時間なし",
        "no_time_left",
    )


@pytest.mark.parametrize(
    ("windows", "margin", "expected"),
    [
        (
            WEEKDAY_WINDOWS,
            timedelta(minutes=10),
            ((time(10), time(11, 50)), (time(13), time(18, 50))),
        ),
        (((time(8), time(21)),), timedelta(minutes=10), ((time(9), time(19, 50)),)),
        (
            ((time(13), time(14)), (time(10), time(10, 5))),
            timedelta(minutes=10),
            ((time(13), time(13, 50)),),
        ),
        (
            ((time(10), time(12)), (time(12), time(13))),
            timedelta(minutes=10),
            ((time(10), time(12, 50)),),
        ),
        (((time(10), time(12)), (time(11), time(13))), timedelta(0), ((time(10), time(13)),)),
        (((time(10), time(12)),), timedelta(seconds=30), ((time(10), time(11, 59, 30)),)),
    ],
    ids=[
        "margin-off-each-end",
        "clipped-to-policy-hours",
        "too-short-interval-disappears-and-sorted",
        "touching-windows-join-before-margin",
        "overlapping-windows-join",
        "margin-in-seconds",
    ],
)
def test_open_intervals(
    windows: tuple[tuple[time, time], ...],
    margin: timedelta,
    expected: tuple[tuple[time, time], ...],
) -> None:
    rules = replace(CAMPAIGN, windows={0: windows}, last_dial_margin=margin)
    assert day_schedule(rules, date(2026, 12, 21)).open == expected


@pytest.mark.parametrize(
    ("at", "callable_"),
    [
        (tokyo(2026, 12, 25, 9, 59, 59), False),
        (tokyo(2026, 12, 25, 10), True),
        (tokyo(2026, 12, 25, 11, 49, 59), True),
        (tokyo(2026, 12, 25, 11, 50), False),
        (tokyo(2026, 12, 25, 18, 49), True),
        (tokyo(2026, 12, 25, 18, 50), False),
        (datetime(2026, 12, 25, 1, 0, tzinfo=UTC), True),
        (datetime(2026, 12, 25, 0, 59, tzinfo=UTC), False),
        (tokyo(2027, 1, 11, 11), False),
    ],
    ids=[
        "before-opening",
        "at-opening",
        "last-second-before-margin",
        "margin-starts",
        "afternoon",
        "afternoon-margin",
        "utc-instant-at-tokyo-opening",
        "utc-instant-before-tokyo-opening",
        "holiday-morning",
    ],
)
def test_is_callable_uses_half_open_intervals_in_local_time(at: datetime, callable_: bool) -> None:
    assert is_callable(CAMPAIGN, at) is callable_


@pytest.mark.parametrize(
    "check", [is_callable, next_callable, closed_reason], ids=lambda f: f.__name__
)
def test_naive_datetimes_are_refused(check: object) -> None:
    with pytest.raises(ValueError, match="naive"):
        check(CAMPAIGN, datetime(2026, 12, 25, 10))  # type: ignore[operator]  # noqa: DTZ001


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (tokyo(2026, 12, 25, 10, 30), None),
        (
            tokyo(2026, 12, 25, 11, 55),
            Closure(ClosedKind.LAST_DIAL_MARGIN, "終了間際のため新規発信なし"),
        ),
        (tokyo(2026, 12, 25, 12, 30), Closure(ClosedKind.OUTSIDE_HOURS, "発信時間外")),
        (tokyo(2026, 12, 25, 21), Closure(ClosedKind.OUTSIDE_HOURS, "発信時間外")),
        (tokyo(2027, 1, 11, 11), Closure(ClosedKind.HOLIDAY, "成人の日")),
        (tokyo(2027, 1, 1, 11), Closure(ClosedKind.BLACKOUT, "年末年始")),
    ],
    ids=["open", "last-dial-margin", "lunch-break", "evening", "holiday", "blackout"],
)
def test_closed_reason_says_why(at: datetime, expected: Closure | None) -> None:
    assert closed_reason(CAMPAIGN, at) == expected


@pytest.mark.parametrize(
    ("rules", "at", "expected"),
    [
        (MON_TO_FRI, tokyo(2026, 12, 11, 19, 30), tokyo(2026, 12, 14, 10)),
        (CAMPAIGN, tokyo(2026, 12, 11, 19, 30), tokyo(2026, 12, 12, 10)),
        (CAMPAIGN, tokyo(2026, 12, 11, 11, 55), tokyo(2026, 12, 11, 13)),
        (CAMPAIGN, tokyo(2026, 12, 11, 6), tokyo(2026, 12, 11, 10)),
        (CAMPAIGN, tokyo(2026, 12, 11, 10, 30, 15), tokyo(2026, 12, 11, 10, 30, 15)),
        (CAMPAIGN, tokyo(2026, 12, 28, 19), tokyo(2027, 1, 4, 10)),
        (CAMPAIGN, tokyo(2027, 1, 8, 19), tokyo(2027, 1, 9, 10)),
        (MON_TO_FRI, tokyo(2027, 1, 8, 19), tokyo(2027, 1, 12, 10)),
        (WITH_DATES, tokyo(2026, 11, 27, 10), tokyo(2026, 12, 1, 10)),
    ],
    ids=[
        "friday-evening-to-monday",
        "friday-evening-to-saturday",
        "inside-margin-to-afternoon",
        "early-morning-to-opening",
        "callable-instant-is-itself",
        "across-new-year-blackout",
        "friday-to-saturday-before-holiday",
        "friday-over-seijin-no-hi-monday",
        "before-the-campaign-starts",
    ],
)
def test_next_callable(rules: CallingRules, at: datetime, expected: datetime) -> None:
    assert next_callable(rules, at) == expected


def test_next_callable_answers_in_the_campaign_time_zone() -> None:
    result = next_callable(CAMPAIGN, datetime(2026, 12, 28, 10, tzinfo=UTC))
    assert result is not None
    assert result.tzinfo is TOKYO
    assert result == tokyo(2027, 1, 4, 10)


@pytest.mark.parametrize(
    "at",
    [tokyo(2027, 2, 1, 9), tokyo(2027, 1, 29, 19), tokyo(2030, 1, 1)],
    ids=["day-after-last-day", "after-close-on-last-weekday", "years-later"],
)
def test_next_callable_is_none_after_the_campaign_ends(at: datetime) -> None:
    rules = replace(WITH_DATES, last_day=date(2027, 1, 29))
    assert next_callable(rules, at) is None


def test_next_callable_is_none_when_nothing_opens_within_the_horizon() -> None:
    closed_for_good = replace(CAMPAIGN, windows={})
    assert next_callable(closed_for_good, tokyo(2026, 12, 25, 10)) is None
    assert next_callable(CAMPAIGN, tokyo(2026, 12, 28, 19), horizon_days=3) is None


def test_negative_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="horizon_days"):
        next_callable(CAMPAIGN, tokyo(2026, 12, 25, 10), horizon_days=-1)


def test_other_countries_use_the_package_default_language() -> None:
    rules = replace(CAMPAIGN, timezone=ZoneInfo("America/New_York"), holidays="US")
    schedule = day_schedule(rules, date(2026, 11, 26))
    assert (schedule.closed, schedule.closed_kind) == ("Thanksgiving Day", "holiday")


def test_unknown_holiday_country_is_a_user_error() -> None:
    with pytest.raises(UnknownHolidayCalendarError, match="XX"):
        day_schedule(replace(CAMPAIGN, holidays="XX"), date(2026, 12, 25))


def test_holiday_calendars_are_built_once_per_country_and_year(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[tuple[str, object]] = []
    original = holidays.country_holidays

    def counting(country: str, **options: Any) -> object:
        built.append((country, options["years"]))
        return original(country, **options)

    calendar._holidays_in.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", counting)
    for offset in range(60):
        day_schedule(CAMPAIGN, date(2026, 12, 1) + timedelta(days=offset))
    assert built == [("JP", 2026), ("JP", 2027)]
    calendar._holidays_in.cache_clear()
