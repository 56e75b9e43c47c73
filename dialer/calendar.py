"""The calling calendar: when may a campaign dial?

Pure functions over `CallingRules`; `now` is always an argument, never read from a clock. A day
is open for the campaign's windows clipped to the company's policy hours, minus the last-dial
margin, unless one of the day-wide closures applies (campaign dates, blackout, public holiday,
weekday without a window). Like APScheduler's `AndTrigger`, an instant is callable only when every
rule agrees; the dispatcher re-checks it at the moment of dialing (DESIGN.md, invariant 1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

from dialer.calendar_report import WEEKDAYS_JA, schedules_as_json, schedules_as_table
from dialer.errors import DialerError
from dialer.wallclock import (
    Span,
    first_instant_from,
    merge_spans,
    reading,
    require_aware,
    spans_reading_within,
)

__all__ = [
    "Blackout",
    "CallingRules",
    "ClosedKind",
    "Closure",
    "DaySchedule",
    "UnknownHolidayCalendarError",
    "closed_reason",
    "day_schedule",
    "holiday_name",
    "is_callable",
    "next_callable",
    "open_spans",
    "schedules_as_json",
    "schedules_as_table",
]

OUTSIDE_DATES_LABEL = "キャンペーン期間外"
NO_TIME_LEFT_LABEL = "発信可能時間なし"
OUTSIDE_HOURS_LABEL = "発信時間外"
LAST_DIAL_MARGIN_LABEL = "終了間際のため新規発信なし"


@dataclass(frozen=True)
class Blackout:
    """A company closure repeating every year, from `start` to `end` inclusive, as (month, day).

    A range whose end comes before its start in the year (12-29 → 01-03) crosses New Year.
    """

    start: tuple[int, int]
    end: tuple[int, int]
    name: str


@dataclass(frozen=True)
class CallingRules:
    """Everything the calendar needs to know about one campaign under the company policy."""

    timezone: ZoneInfo
    # weekday (Monday = 0) → the campaign's windows on that day, as local wall-clock times
    windows: Mapping[int, tuple[tuple[time, time], ...]]
    # the company-wide hours; every window is clipped to them
    policy_hours: tuple[time, time]
    # a `holidays` country code ("JP"), or None when public holidays are not closed
    holidays: str | None
    blackouts: tuple[Blackout, ...]
    # no new call this close to an interval's end
    last_dial_margin: timedelta
    # the campaign's own first and last day (inclusive); None means unbounded
    first_day: date | None = None
    last_day: date | None = None


class ClosedKind(StrEnum):
    """Stable codes for why no call may be placed; `--json` and the dashboard rely on them."""

    OUTSIDE_DATES = "outside_dates"
    BLACKOUT = "blackout"
    HOLIDAY = "holiday"
    NO_WINDOW = "no_window"
    NO_TIME_LEFT = "no_time_left"
    # only for a single instant on an open day (`closed_reason`)
    OUTSIDE_HOURS = "outside_hours"
    LAST_DIAL_MARGIN = "last_dial_margin"


@dataclass(frozen=True)
class Closure:
    """Why calling is closed: a stable `kind` for code and a Japanese `label` for people."""

    kind: ClosedKind
    label: str


@dataclass(frozen=True)
class DaySchedule:
    """One local date: its open wall-clock intervals [start, end), or why it is closed."""

    date: date
    open: tuple[tuple[time, time], ...]
    closed: str | None
    closed_kind: str | None


class UnknownHolidayCalendarError(DialerError):
    """The rules name a country whose public holidays the `holidays` package does not know."""


def day_schedule(rules: CallingRules, day: date) -> DaySchedule:
    """The open intervals of `day`, or the first closure that applies, in order of precedence:
    campaign dates, blackout, public holiday, weekday without a window, nothing left."""
    closure = _day_closure(rules, day)
    if closure is None:
        intervals = _open_intervals(rules, day.weekday())
        if intervals:
            return DaySchedule(date=day, open=intervals, closed=None, closed_kind=None)
        closure = Closure(ClosedKind.NO_TIME_LEFT, NO_TIME_LEFT_LABEL)
    return DaySchedule(date=day, open=(), closed=closure.label, closed_kind=closure.kind)


def is_callable(rules: CallingRules, at: datetime) -> bool:
    """Whether a call may start at the instant `at` (timezone-aware), judged by the local clock."""
    require_aware(at)
    day, clock = reading(at, rules.timezone)
    return any(start <= clock < end for start, end in day_schedule(rules, day).open)


def closed_reason(rules: CallingRules, at: datetime) -> Closure | None:
    """Why no call may start at `at` (the dashboard's "closed now, and why"); None when open."""
    require_aware(at)
    day, clock = reading(at, rules.timezone)
    schedule = day_schedule(rules, day)
    if schedule.closed is not None and schedule.closed_kind is not None:
        return Closure(ClosedKind(schedule.closed_kind), schedule.closed)
    if any(start <= clock < end for start, end in schedule.open):
        return None
    if any(start <= clock < end for start, end in _windows_within_policy(rules, day.weekday())):
        return Closure(ClosedKind.LAST_DIAL_MARGIN, LAST_DIAL_MARGIN_LABEL)
    return Closure(ClosedKind.OUTSIDE_HOURS, OUTSIDE_HOURS_LABEL)


def next_callable(rules: CallingRules, at: datetime, *, horizon_days: int = 400) -> datetime | None:
    """The earliest callable instant at or after `at`, in the rules' time zone; None when no day
    opens within `horizon_days` local days. The dispatcher uses it to park an entry until then.

    Compare the result with other instants in UTC: Python compares datetimes sharing a tzinfo
    by wall clock, which misorders the two passes of a fall-back hour.
    """
    require_aware(at)
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative: {horizon_days}")
    at_utc = at.astimezone(UTC)
    found: list[datetime] = []
    for day in _candidate_days(rules, at_utc, horizon_days):
        looked_ahead = bool(found)
        found.extend(_first_open_instant(rules, day, at_utc))
        # One day past the first hit is enough: a fall-back across midnight replays a few hours
        # of the previous date after the next one has begun, never more.
        if looked_ahead:
            break
    return min(found).astimezone(rules.timezone) if found else None


def open_spans(rules: CallingRules, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The instants of `day` when calls may start, as sorted disjoint [start, end) spans in the
    rules' time zone. Across a fall-back a wall-clock interval may give two spans (its
    repeated part is open on both passes); overlapping spans are merged, never listed twice."""
    return tuple(
        (start.astimezone(rules.timezone), end.astimezone(rules.timezone))
        for start, end in _utc_spans(rules, day)
    )


def holiday_name(country: str, day: date) -> str | None:
    """The public holiday's name on `day` as the `holidays` package gives it, or None."""
    return _holidays_in(country, day.year).get(day)


def _day_closure(rules: CallingRules, day: date) -> Closure | None:
    if _outside_dates(rules, day):
        return Closure(ClosedKind.OUTSIDE_DATES, OUTSIDE_DATES_LABEL)
    blackout = next((b for b in rules.blackouts if _blackout_covers(b, day)), None)
    if blackout is not None:
        return Closure(ClosedKind.BLACKOUT, blackout.name)
    holiday = holiday_name(rules.holidays, day) if rules.holidays else None
    if holiday is not None:
        return Closure(ClosedKind.HOLIDAY, holiday)
    if not rules.windows.get(day.weekday()):
        return Closure(ClosedKind.NO_WINDOW, f"{WEEKDAYS_JA[day.weekday()]}曜日は発信枠なし")
    return None


def _outside_dates(rules: CallingRules, day: date) -> bool:
    return (rules.first_day is not None and day < rules.first_day) or (
        rules.last_day is not None and day > rules.last_day
    )


def _blackout_covers(blackout: Blackout, day: date) -> bool:
    """Compared as (month, day) pairs, never built into dates, so a 02-29 bound is safe in any
    year: in a non-leap year it simply matches no day of its own."""
    month_day = (day.month, day.day)
    if blackout.start <= blackout.end:
        return blackout.start <= month_day <= blackout.end
    return month_day >= blackout.start or month_day <= blackout.end


@lru_cache(maxsize=512)
def _holidays_in(country: str, year: int) -> Mapping[date, str]:
    """One year of a country's holidays, built once and frozen (safe to share across threads)."""
    language = "ja" if country == "JP" else None
    try:
        calendar = holidays.country_holidays(country, years=year, language=language)
    except NotImplementedError:
        raise UnknownHolidayCalendarError(f"no public holiday calendar for {country!r}") from None
    return MappingProxyType(dict(calendar.items()))


def _windows_within_policy(rules: CallingRules, weekday: int) -> list[tuple[time, time]]:
    """The weekday's windows clipped to policy hours, with overlapping or touching ones joined:
    back-to-back windows are one stretch of calling, so the margin applies only at its end."""
    policy_start, policy_end = rules.policy_hours
    clipped = sorted(
        (max(start, policy_start), min(end, policy_end))
        for start, end in rules.windows.get(weekday, ())
    )
    joined: list[tuple[time, time]] = []
    for start, end in clipped:
        if start >= end:
            continue
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def _open_intervals(rules: CallingRules, weekday: int) -> tuple[tuple[time, time], ...]:
    margin = max(rules.last_dial_margin, timedelta(0))
    shortened = (
        (start, _clock(_since_midnight(end) - margin))
        for start, end in _windows_within_policy(rules, weekday)
        if _since_midnight(end) - margin > _since_midnight(start)
    )
    return tuple(shortened)


def _since_midnight(clock: time) -> timedelta:
    return timedelta(
        hours=clock.hour, minutes=clock.minute, seconds=clock.second, microseconds=clock.microsecond
    )


def _clock(since_midnight: timedelta) -> time:
    seconds, microseconds = divmod(since_midnight // timedelta(microseconds=1), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, microseconds)


def _utc_spans(rules: CallingRules, day: date) -> tuple[Span, ...]:
    spans = [
        span
        for start, end in day_schedule(rules, day).open
        for span in spans_reading_within(rules.timezone, day, start, end)
    ]
    return merge_spans(spans)


def _first_open_instant(rules: CallingRules, day: date, at_utc: datetime) -> list[datetime]:
    instant = first_instant_from(_utc_spans(rules, day), at_utc)
    return [] if instant is None else [instant]


def _candidate_days(rules: CallingRules, at_utc: datetime, horizon_days: int) -> Iterator[date]:
    """Local dates that may hold the next open instant: from the day before `at`'s own (whose
    repeated hour can follow `at` after a fall-back) to the horizon or the campaign's end."""
    today = at_utc.astimezone(rules.timezone).date()
    for offset in range(-1, horizon_days + 1):
        day = today + timedelta(days=offset)
        if rules.last_day is not None and day > rules.last_day:
            return
        yield day
