"""The calling calendar: when may a campaign dial?

Pure functions over `CallingRules`; `now` is always an argument, never read from a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo


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
