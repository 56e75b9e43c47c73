"""Properties of the calling calendar over random rules and instants (2000-2035).

The rules are read here a second time, independently and as plainly as possible (`allowed`):
whatever the calendar calls callable must pass every rule of DESIGN.md's invariant 1, and
`next_callable` must find the earliest such instant, across Japanese holidays, New-Year-crossing
blackouts, last-dial margins, and daylight-saving changes in New York and London.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.calendar import Blackout, CallingRules, day_schedule, is_callable, next_callable

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
FIRST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(2036, 1, 1, tzinfo=UTC) - timedelta(seconds=1)
HORIZON_DAYS = 400
JP_HOLIDAYS = holidays.country_holidays("JP")
ONE_SECOND = timedelta(seconds=1)
ONE_MICROSECOND = timedelta(microseconds=1)
CLOSED_KINDS = {"outside_dates", "blackout", "holiday", "no_window", "no_time_left"}

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

Window = tuple[time, time]


# --- the rules, read independently ----------------------------------------------------------


def since_midnight(clock: time) -> timedelta:
    return timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second) + timedelta(
        microseconds=clock.microsecond
    )


def within_dates(rules: CallingRules, day: date) -> bool:
    after_start = rules.first_day is None or rules.first_day <= day
    return after_start and (rules.last_day is None or day <= rules.last_day)


def blackout_dates_in(blackout: Blackout, year: int) -> tuple[date, date]:
    """The blackout's bounds as real dates of `year`: a 02-29 start begins on 03-01 and a 02-29
    end stops on 02-28 when the year has no leap day."""
    start = _real_date(year, blackout.start) or date(year, 3, 1)
    end = _real_date(year, blackout.end) or date(year, 2, 28)
    return start, end


def _real_date(year: int, month_day: tuple[int, int]) -> date | None:
    try:
        return date(year, *month_day)
    except ValueError:
        return None


def in_blackout(rules: CallingRules, day: date) -> bool:
    for blackout in rules.blackouts:
        start, end = blackout_dates_in(blackout, day.year)
        crosses_new_year = blackout.end < blackout.start
        if (start <= day or end >= day) if crosses_new_year else (start <= day <= end):
            return True
    return False


def within_policy(rules: CallingRules, clock: time) -> bool:
    return rules.policy_hours[0] <= clock < rules.policy_hours[1]


def within_a_window(rules: CallingRules, day: date, clock: time) -> bool:
    return any(start <= clock < end for start, end in rules.windows.get(day.weekday(), ()))


def callable_stretch_end(rules: CallingRules, day: date, clock: time) -> timedelta | None:
    """Where the stretch of windows (within policy hours) that holds `clock` ends, following
    windows that touch or overlap; None when no window holds it."""
    policy_start, policy_end = (since_midnight(bound) for bound in rules.policy_hours)
    windows = [
        (max(since_midnight(start), policy_start), min(since_midnight(end), policy_end))
        for start, end in rules.windows.get(day.weekday(), ())
    ]
    reached = since_midnight(clock)
    while True:
        further = [end for start, end in windows if start <= reached < end]
        if not further:
            return None if reached == since_midnight(clock) else reached
        reached = max(further)


def allowed(rules: CallingRules, at: datetime) -> bool:
    """Invariant 1 read plainly: the date, no blackout, no holiday, and a window stretch that
    still has more than the last-dial margin to run."""
    local = at.astimezone(rules.timezone)
    day, clock = local.date(), local.time()
    if not within_dates(rules, day) or in_blackout(rules, day) or day in JP_HOLIDAYS:
        return False
    stretch_end = callable_stretch_end(rules, day, clock)
    return stretch_end is not None and since_midnight(clock) + rules.last_dial_margin < stretch_end


def openings_and_last_seconds(rules: CallingRules, day: date) -> list[datetime]:
    """Instants that read each window's start, or the last second before its margin, on `day`
    (both passes of a repeated hour): every open stretch holds at least one of them."""
    readings = [
        clock
        for start, end in rules.windows.get(day.weekday(), ())
        for clock in (start, _clock(since_midnight(end) - rules.last_dial_margin - ONE_SECOND))
        if clock is not None
    ]
    return [
        datetime.combine(day, clock, tzinfo=rules.timezone).replace(fold=fold).astimezone(UTC)
        for clock in readings
        for fold in (0, 1)
    ]


def _clock(offset: timedelta) -> time | None:
    if not timedelta(0) <= offset < timedelta(days=1):
        return None
    return time(offset.seconds // 3600, offset.seconds // 60 % 60, offset.seconds % 60)


# --- random rules and instants ---------------------------------------------------------------


@cache
def dst_changes(zone: ZoneInfo) -> tuple[datetime, ...]:
    """Midnights (UTC) starting a day in which `zone` changes its offset, 2000-2035."""
    days = [FIRST_INSTANT + timedelta(days=n) for n in range(36 * 366)]
    return tuple(
        earlier
        for earlier, later in pairwise(days)
        if earlier.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset()
    )


clock_minutes = st.one_of(st.integers(0, 24 * 60 - 1), st.integers(0, 4 * 60))  # nights often


@st.composite
def spans_of_day(draw: st.DrawFn) -> Window:
    start, end = sorted(draw(st.lists(clock_minutes, min_size=2, max_size=2, unique=True)))
    return time(start // 60, start % 60), time(end // 60, end % 60)


@st.composite
def blackouts(draw: st.DrawFn) -> Blackout:
    """Short closures (some crossing New Year, some touching 02-29) or arbitrary ranges."""
    first = date(2000, 1, 1) + timedelta(days=draw(st.integers(0, 365)))
    if draw(st.booleans()):
        last = first + timedelta(days=draw(st.integers(0, 20)))
    else:
        last = date(2000, 1, 1) + timedelta(days=draw(st.integers(0, 365)))
    return Blackout((first.month, first.day), (last.month, last.day), "休業")


@st.composite
def instants(draw: st.DrawFn, zone: ZoneInfo) -> datetime:
    """Uniform over 2000-2035, or within two days of a DST change of `zone`."""
    changes = dst_changes(zone)
    near_a_change = bool(changes) and draw(st.booleans())
    if near_a_change:
        near = draw(st.sampled_from(changes))
        at = near + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
    else:
        seconds = draw(st.integers(0, int((LAST_INSTANT - FIRST_INSTANT).total_seconds())))
        at = FIRST_INSTANT + timedelta(seconds=seconds)
    at += timedelta(microseconds=draw(st.sampled_from([0, 0, 1, 500_000])))
    shown_in = draw(st.sampled_from([UTC, zone, TOKYO, timezone(timedelta(hours=-3, minutes=-30))]))
    return at.astimezone(shown_in)


@st.composite
def weekly_windows(draw: st.DrawFn) -> dict[int, tuple[Window, ...]]:
    """Most weekdays have one to three windows; some have none."""
    return {
        weekday: tuple(draw(st.lists(spans_of_day(), min_size=1, max_size=3)))
        for weekday in range(7)
        if draw(st.integers(0, 4))
    }


@st.composite
def campaign_days(draw: st.DrawFn, around: date) -> tuple[date | None, date | None]:
    first = draw(st.none() | st.integers(-60, 30).map(lambda n: around + timedelta(days=n)))
    last = draw(st.none() | st.integers(-30, 90).map(lambda n: around + timedelta(days=n)))
    if first is not None and last is not None and last < first:
        return last, first
    return first, last


@st.composite
def rules_and_instants(draw: st.DrawFn) -> tuple[CallingRules, datetime]:
    zone = draw(st.sampled_from([TOKYO, NEW_YORK, LONDON]))
    at = draw(instants(zone))
    policy = draw(st.just((time(0), time(23, 59))) | spans_of_day())
    windows = draw(weekly_windows())
    first_day, last_day = draw(campaign_days(at.astimezone(zone).date()))
    rules = CallingRules(
        timezone=zone,
        windows=windows,
        policy_hours=policy,
        holidays="JP",
        blackouts=tuple(draw(st.lists(blackouts(), max_size=3))),
        last_dial_margin=timedelta(seconds=draw(st.integers(0, 2 * 3600))),
        first_day=first_day,
        last_day=last_day,
    )
    return rules, at


@st.composite
def dst_nights(draw: st.DrawFn) -> tuple[CallingRules, datetime]:
    """Night windows in New York or London, and an instant within hours of a DST change."""
    zone = draw(st.sampled_from([NEW_YORK, LONDON]))
    change = draw(st.sampled_from(dst_changes(zone)))
    # New York changes near 06:00-07:00Z, London at 01:00Z: mostly land within hours of it.
    seconds = draw(st.integers(0, 12 * 3600) | st.integers(-3600, 36 * 3600))
    at = change + timedelta(seconds=seconds)
    night = st.integers(0, 4 * 60).map(lambda minute: time(minute // 60, minute % 60))
    windows = draw(st.lists(st.lists(night, min_size=2, max_size=2, unique=True).map(sorted)))
    rules = CallingRules(
        timezone=zone,
        windows=dict.fromkeys(range(7), tuple((start, end) for start, end in windows)),
        policy_hours=(time(0), time(23, 59)),
        holidays="JP",
        blackouts=(),
        last_dial_margin=timedelta(minutes=draw(st.integers(0, 30))),
    )
    return rules, at.astimezone(draw(st.sampled_from([UTC, zone])))


# --- properties -------------------------------------------------------------------------------


def assert_breaks_no_rule(rules: CallingRules, at: datetime) -> None:
    local = at.astimezone(rules.timezone)
    day, clock = local.date(), local.time()
    assert day not in JP_HOLIDAYS, f"{local} is a public holiday"
    assert not in_blackout(rules, day), f"{local} is in a blackout"
    assert within_policy(rules, clock), f"{local} is outside policy hours"
    assert within_a_window(rules, day, clock), f"{local} is outside the campaign's windows"
    assert within_dates(rules, day), f"{local} is outside the campaign's dates"
    stretch_end = callable_stretch_end(rules, day, clock)
    assert stretch_end is not None
    assert since_midnight(clock) + rules.last_dial_margin < stretch_end, (
        f"{local} is inside the last-dial margin"
    )


@PROPERTY_SETTINGS
@given(rules_and_instants())
def test_callable_instants_break_no_rule(case: tuple[CallingRules, datetime]) -> None:
    rules, at = case
    candidates = [at, next_callable(rules, at, horizon_days=HORIZON_DAYS)]
    for instant in candidates:
        if instant is not None and is_callable(rules, instant):
            assert_breaks_no_rule(rules, instant)


@PROPERTY_SETTINGS
@given(rules_and_instants())
def test_is_callable_agrees_with_the_rules_read_independently(
    case: tuple[CallingRules, datetime],
) -> None:
    rules, at = case
    assert is_callable(rules, at) is allowed(rules, at)


@PROPERTY_SETTINGS
@given(rules_and_instants(), st.lists(st.floats(0, 1, exclude_max=True), max_size=8))
def test_next_callable_is_the_earliest_callable_instant(
    case: tuple[CallingRules, datetime], fractions: list[float]
) -> None:
    assert_next_callable_is_earliest(*case, fractions)


@PROPERTY_SETTINGS
@given(dst_nights(), st.lists(st.floats(0, 1, exclude_max=True), max_size=8))
def test_next_callable_is_the_earliest_callable_instant_around_dst_changes(
    case: tuple[CallingRules, datetime], fractions: list[float]
) -> None:
    rules, at = case
    assert_next_callable_is_earliest(rules, at, fractions)
    assert is_callable(rules, at) is allowed(rules, at)


def assert_next_callable_is_earliest(
    rules: CallingRules, at: datetime, fractions: list[float]
) -> None:
    found = next_callable(rules, at, horizon_days=HORIZON_DAYS)
    if found is None:
        until = at.astimezone(rules.timezone).date() + timedelta(days=HORIZON_DAYS)
        assert_nothing_callable_between(rules, at, until, None)
        return
    # Compared in UTC: datetimes sharing a tzinfo compare by wall clock, wrong on a fall-back.
    start, end = at.astimezone(UTC), found.astimezone(UTC)
    assert found.tzinfo is rules.timezone
    assert end >= start
    assert is_callable(rules, found)
    assert allowed(rules, found)
    if is_callable(rules, at):
        assert end == start
        return
    if end - ONE_SECOND >= start:
        assert not allowed(rules, end - ONE_SECOND)
    microseconds = (end - start) // ONE_MICROSECOND
    for fraction in fractions:
        sample = min(int(microseconds * fraction), microseconds - 1) * ONE_MICROSECOND
        assert not allowed(rules, start + sample)
    assert_nothing_callable_between(rules, start, found.date(), end)


def assert_nothing_callable_between(
    rules: CallingRules, at: datetime, until: date, found: datetime | None
) -> None:
    """No window opening (or last second) read by the rules lies in [at, found)."""
    day = at.astimezone(rules.timezone).date() - timedelta(days=1)
    while day <= until:
        for instant in openings_and_last_seconds(rules, day):
            if instant >= at and (found is None or instant < found):
                assert not allowed(rules, instant), f"{instant} was callable before {found}"
        day += timedelta(days=1)


@PROPERTY_SETTINGS
@given(rules_and_instants())
def test_day_schedule_is_sorted_disjoint_and_inside_policy_hours(
    case: tuple[CallingRules, datetime],
) -> None:
    rules, at = case
    schedule = day_schedule(rules, at.astimezone(rules.timezone).date())
    assert (schedule.closed is None) is (schedule.closed_kind is None) is bool(schedule.open)
    assert schedule.closed_kind is None or schedule.closed_kind in CLOSED_KINDS
    bounds = [clock for interval in schedule.open for clock in interval]
    assert bounds == sorted(bounds)
    assert len(set(bounds)) == len(bounds)
    assert all(rules.policy_hours[0] <= clock <= rules.policy_hours[1] for clock in bounds)
