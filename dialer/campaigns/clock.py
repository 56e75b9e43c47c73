"""Wall-clock values of campaigns.yaml: time ranges, day specs, month-days, and their checks.

These are read here, once, into typed values (`TimeRange`, weekday tuples, `(month, day)`), so
that the calendar and the dispatcher never parse a string again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any

from pydantic import AfterValidator, PlainValidator

from dialer.campaigns.problems import Issue, describe, did_you_mean

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_GROUPS = {"daily": range(7), "weekdays": range(5), "weekends": range(5, 7)}
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*[-~〜～–]\s*(\d{1,2}):(\d{2})")
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})")

# Official guidance in related fields treats 21:00–08:00 as nuisance time for sales calls.
DECENT_HOURS_START = time(8, 0)
DECENT_HOURS_END = time(21, 0)


@dataclass(frozen=True, order=True)
class TimeRange:
    """A part of a day, `start` inclusive to `end` exclusive, as local wall-clock times."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end

    def within(self, other: TimeRange) -> bool:
        return other.start <= self.start and self.end <= other.end


def parse_time_range(value: Any) -> TimeRange:
    """Read `"10:00-12:00"`; the end must come after the start on the same day."""
    if isinstance(value, TimeRange):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f'expected a time range in quotes such as "10:00-12:00", got {describe(value)}'
        )
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"'{value}' is not a time range; write it as \"10:00-12:00\"")
    hour1, minute1, hour2, minute2 = (int(group) for group in match.groups())
    if hour1 > 23 or hour2 > 23 or minute1 > 59 or minute2 > 59:
        raise ValueError(f"'{value}' is not a time range: hours go 00-23, minutes 00-59")
    result = TimeRange(time(hour1, minute1), time(hour2, minute2))
    if result.end <= result.start:
        raise ValueError(f"{result} ends before or when it starts")
    return result


def _decent(value: TimeRange) -> TimeRange:
    if value.start < DECENT_HOURS_START or value.end > DECENT_HOURS_END:
        raise ValueError(
            f"{value} reaches into 21:00-08:00, which official guidance treats as nuisance "
            f"time; keep calls between 08:00 and 21:00"
        )
    return value


CallingHours = Annotated[TimeRange, PlainValidator(parse_time_range), AfterValidator(_decent)]
"""A time range in which calls are placed: never in the 21:00–08:00 nuisance hours."""


def parse_days(spec: str) -> tuple[int, ...]:
    """Read a day spec (`mon-fri`, `sat`, `mon,wed`, `daily`) into weekdays, Monday = 0."""
    days: list[int] = []
    for part in (piece.strip() for piece in spec.lower().split(",")):
        if part in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[part])
        elif "-" in part:
            first, _, last = part.partition("-")
            start, end = _day(first.strip()), _day(last.strip())
            if end < start:
                raise ValueError(f"'{part}' runs backwards; day ranges go forward from mon to sun")
            days.extend(range(start, end + 1))
        else:
            days.append(_day(part))
    repeated = sorted({DAY_NAMES[day] for day in days if days.count(day) > 1})
    if repeated:
        raise ValueError(f"'{spec}' names {', '.join(repeated)} more than once")
    return tuple(sorted(days))


def _day(name: str) -> int:
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    choices = [*DAY_NAMES, *_DAY_GROUPS]
    raise ValueError(
        f"unknown day '{name}'{did_you_mean(name, choices)}; use mon..sun, ranges like "
        f"mon-fri, lists like mon,wed, or daily"
    )


def _day_spec(spec: str) -> str:
    parse_days(spec)
    return spec


DaySpec = Annotated[str, AfterValidator(_day_spec)]
"""A key of `windows:`, kept as written; `parse_days` gives its weekdays."""


def window_overlaps(windows: Mapping[str, Sequence[TimeRange]]) -> list[Issue]:
    """One issue per window that overlaps an earlier one on a shared weekday, located as
    `(day spec, index)` so the message lands on the line of the later window."""
    seen: dict[int, list[tuple[TimeRange, str]]] = {}
    issues = []
    for spec, ranges in windows.items():
        days = parse_days(spec)
        for index, window in enumerate(ranges):
            clash = _first_clash(window, days, seen)
            if clash:
                issues.append(Issue((spec, index), f"{window} overlaps {clash}"))
            for day in days:
                seen.setdefault(day, []).append((window, spec))
    return issues


def _first_clash(
    window: TimeRange, days: Sequence[int], seen: Mapping[int, list[tuple[TimeRange, str]]]
) -> str:
    for day in days:
        for other, spec in seen.get(day, []):
            if window.overlaps(other):
                return f"{other} ({spec}) on {DAY_NAMES[day]}"
    return ""


def parse_month_day(value: Any) -> tuple[int, int]:
    """Read `"12-29"` into `(12, 29)`: a day that comes back every year (02-29 is allowed)."""
    if isinstance(value, date):
        raise ValueError(
            f'a blackout repeats every year: write only month and day, "{value:%m-%d}"'
        )
    if not isinstance(value, str):
        raise ValueError(f'expected a month-day in quotes such as "12-29", got {describe(value)}')
    match = _MONTH_DAY.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"'{value}' is not a month-day; write it as \"12-29\" (MM-DD)")
    month, day = int(match[1]), int(match[2])
    try:
        date(2000, month, day)  # a leap year, so that 02-29 passes
    except ValueError:
        raise ValueError(f"'{value}' is not a real day of the year") from None
    return month, day


MonthDay = Annotated[tuple[int, int], PlainValidator(parse_month_day)]
