"""Calling windows are wall-clock times; instants around daylight-saving changes stay exact.

A window starting inside a spring-forward gap opens at the first instant that exists after it;
on a fall-back the repeated hour is open on both passes when its clock reading is inside the
window, yet no span is listed twice and `next_callable` still finds the earliest instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import CallingRules, day_schedule, is_callable, next_callable, open_spans

NEW_YORK = ZoneInfo(
    "America/New_York"
)  # 2026-03-08 07:00Z springs forward; 2026-11-01 06:00Z falls back
LONDON = ZoneInfo(
    "Europe/London"
)  # 2026-03-29 01:00Z springs forward; 2026-10-25 01:00Z falls back
# Until 2011 St. John's fell back at 00:01 to 23:01 of the day before: 2010-11-07 02:31Z.
ST_JOHNS = ZoneInfo("America/St_Johns")
TOKYO = ZoneInfo("Asia/Tokyo")

Windows = Mapping[int, tuple[tuple[time, time], ...]]


def every_day(*windows: tuple[time, time]) -> Windows:
    return dict.fromkeys(range(7), windows)


def rules_in(zone: ZoneInfo, windows: Windows) -> CallingRules:
    return CallingRules(
        timezone=zone,
        windows=windows,
        policy_hours=(time(0), time(23, 59, 59)),
        holidays=None,
        blackouts=(),
        last_dial_margin=timedelta(0),
    )


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# (zone, windows, at, expected), instants in UTC. New York: EST = UTC-5, EDT = UTC-4;
# London: GMT = UTC, BST = UTC+1; St. John's: NST = UTC-3:30, NDT = UTC-2:30.
NEXT_CALLABLE_CASES = {
    "ny-spring-window-starting-in-gap-opens-at-0300-edt": (
        NEW_YORK,
        every_day((time(2, 30), time(5))),
        utc(2026, 3, 8, 5),
        utc(2026, 3, 8, 7),
    ),
    "ny-spring-window-starting-before-gap": (
        NEW_YORK,
        every_day((time(1, 30), time(5))),
        utc(2026, 3, 8, 5),
        utc(2026, 3, 8, 6, 30),
    ),
    "ny-spring-window-wholly-in-gap-skips-the-day": (
        NEW_YORK,
        every_day((time(2, 10), time(2, 50))),
        utc(2026, 3, 8, 5),
        utc(2026, 3, 9, 6, 10),
    ),
    "ny-spring-window-ending-in-gap-closes-at-the-jump": (
        NEW_YORK,
        every_day((time(1), time(2, 30))),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 9, 5),
    ),
    "ny-spring-callable-after-the-gap-is-itself": (
        NEW_YORK,
        every_day((time(2, 30), time(5))),
        utc(2026, 3, 8, 7, 15),
        utc(2026, 3, 8, 7, 15),
    ),
    "london-spring-window-starting-in-gap-opens-at-0200-bst": (
        LONDON,
        every_day((time(1, 15), time(4))),
        utc(2026, 3, 29, 0),
        utc(2026, 3, 29, 1),
    ),
    "ny-fall-first-pass-comes-first": (
        NEW_YORK,
        every_day((time(1, 30), time(3))),
        utc(2026, 11, 1, 4),
        utc(2026, 11, 1, 5, 30),
    ),
    "ny-fall-second-pass-waits-for-the-start": (
        NEW_YORK,
        every_day((time(1, 30), time(3))),
        utc(2026, 11, 1, 6, 10),
        utc(2026, 11, 1, 6, 30),
    ),
    "ny-fall-repeated-hour-reopens-at-0100-est": (
        NEW_YORK,
        every_day((time(1), time(1, 30))),
        utc(2026, 11, 1, 5, 45),
        utc(2026, 11, 1, 6),
    ),
    "ny-fall-after-both-passes-next-day": (
        NEW_YORK,
        every_day((time(1), time(1, 30))),
        utc(2026, 11, 1, 6, 45),
        utc(2026, 11, 2, 6),
    ),
    "london-fall-repeated-hour-reopens-in-gmt": (
        LONDON,
        every_day((time(1, 30), time(1, 45))),
        utc(2026, 10, 25, 0, 50),
        utc(2026, 10, 25, 1, 30),
    ),
    "st-johns-fall-across-midnight-sunday-before-saturday-replay": (
        ST_JOHNS,
        {5: ((time(23, 10), time(23, 20)),), 6: ((time(0), time(0, 1)),)},
        utc(2010, 11, 7, 2),
        utc(2010, 11, 7, 2, 30),
    ),
    "st-johns-fall-across-midnight-saturday-replays-after-sunday-began": (
        ST_JOHNS,
        {5: ((time(23, 10), time(23, 20)),)},
        utc(2010, 11, 7, 2, 30, 30),
        utc(2010, 11, 7, 2, 40),
    ),
}


@pytest.mark.parametrize(
    ("zone", "windows", "at", "expected"),
    list(NEXT_CALLABLE_CASES.values()),
    ids=list(NEXT_CALLABLE_CASES),
)
def test_next_callable_across_dst(
    zone: ZoneInfo, windows: Windows, at: datetime, expected: datetime
) -> None:
    rules = rules_in(zone, windows)
    result = next_callable(rules, at)
    assert result is not None
    assert result.astimezone(UTC) == expected
    assert result.tzinfo is zone
    assert is_callable(rules, result)
    if expected > at:
        assert not is_callable(rules, expected - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("zone", "windows", "at", "expected"),
    list(NEXT_CALLABLE_CASES.values()),
    ids=list(NEXT_CALLABLE_CASES),
)
def test_next_callable_never_returns_a_nonexistent_local_time(
    zone: ZoneInfo, windows: Windows, at: datetime, expected: datetime
) -> None:
    result = next_callable(rules_in(zone, windows), at)
    assert result is not None
    round_trip = result.astimezone(UTC).astimezone(zone)
    assert (result.date(), result.time(), result.fold, result.utcoffset()) == (
        round_trip.date(),
        round_trip.time(),
        round_trip.fold,
        round_trip.utcoffset(),
    )


SPAN_CASES = {
    "ny-fall-repeated-hour-counted-once": (
        NEW_YORK,
        (time(1), time(3)),
        date(2026, 11, 1),
        [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 8))],
    ),
    "ny-fall-interval-split-by-the-repeat": (
        NEW_YORK,
        (time(0, 30), time(1, 30)),
        date(2026, 11, 1),
        [
            (utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 30)),
            (utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30)),
        ],
    ),
    "ny-spring-gap-shortens-the-interval": (
        NEW_YORK,
        (time(1), time(4)),
        date(2026, 3, 8),
        [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))],
    ),
    "ny-spring-window-in-gap-is-empty": (
        NEW_YORK,
        (time(2, 10), time(2, 50)),
        date(2026, 3, 8),
        [],
    ),
    "tokyo-plain-day": (
        TOKYO,
        (time(10), time(12)),
        date(2026, 12, 25),
        [(utc(2026, 12, 25, 1), utc(2026, 12, 25, 3))],
    ),
}


@pytest.mark.parametrize(
    ("zone", "window", "day", "expected"), list(SPAN_CASES.values()), ids=list(SPAN_CASES)
)
def test_open_spans_are_exact_instants(
    zone: ZoneInfo, window: tuple[time, time], day: date, expected: list[tuple[datetime, datetime]]
) -> None:
    spans = open_spans(rules_in(zone, every_day(window)), day)
    assert [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in spans] == expected


def test_fall_back_day_lists_its_interval_once() -> None:
    rules = rules_in(NEW_YORK, every_day((time(1), time(3))))
    assert day_schedule(rules, date(2026, 11, 1)).open == ((time(1), time(3)),)


@pytest.mark.parametrize(
    ("at", "callable_"),
    [
        (utc(2026, 11, 1, 5, 15), True),
        (utc(2026, 11, 1, 5, 45), False),
        (utc(2026, 11, 1, 6, 15), True),
        (utc(2026, 11, 1, 6, 45), False),
    ],
    ids=["0115-edt", "0145-edt", "0115-est", "0145-est"],
)
def test_repeated_hour_is_judged_by_its_clock_reading(at: datetime, callable_: bool) -> None:
    rules = rules_in(NEW_YORK, every_day((time(1), time(1, 30))))
    assert is_callable(rules, at) is callable_
