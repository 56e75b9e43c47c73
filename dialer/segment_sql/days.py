"""Whole local calendar days, turned into ranges of instants.

"Ordered 14 to 45 days ago" counts calendar days in the campaign's time zone between the order's
local date and the local date of `as_of`. Counting that in SQL would need time zone arithmetic,
which SQLite lacks. Instead, each accepted range of day counts becomes a half-open range of
instants (from the local midnight starting the oldest accepted day to the local midnight ending
the newest), computed here in Python: the database only compares timestamps, the same way on
both engines, and an index on the timestamp column applies.

This assumes local dates never go backwards, which holds in every zone except one that turns its
clocks back across midnight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from dialer.campaigns.segments import Between, OneOf, Op, RelativeMonth, Value
from dialer.models import NaiveDatetimeError
from dialer.segment_sql.needs import Leaf

#: Day counts are clamped to this many days either way: far beyond any shop's data, and well
#: inside the dates Python can represent.
HORIZON_DAYS = 200 * 366


@dataclass(frozen=True)
class DayRange:
    """Whole day counts `low <= days <= high`; None leaves that side open."""

    low: int | None
    high: int | None


@dataclass(frozen=True)
class DayCounter:
    """Counts whole local days back from `as_of` in `timezone`, and back into instants."""

    as_of: datetime
    timezone: ZoneInfo

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None or self.as_of.utcoffset() is None:
            raise NaiveDatetimeError(f"as_of must be aware, got {self.as_of!r}")

    @property
    def today(self) -> date:
        """The local date of `as_of`."""
        return self.as_of.astimezone(self.timezone).date()

    def days_ago(self, instant: datetime) -> int:
        """Whole local days between `instant`'s date and today; negative in the future."""
        return (self.today - instant.astimezone(self.timezone).date()).days

    def start_of_day(self, days_ago: int) -> datetime:
        """The first instant (UTC) of the local date `days_ago` days before today.

        On a day that starts in a DST gap, the wall clock 00:00 does not exist; fold=0 reads it
        with the offset before the change, which is the instant the day actually begins.
        """
        clamped = max(-HORIZON_DAYS, min(HORIZON_DAYS, days_ago))
        day = self.today - timedelta(days=clamped)
        return datetime.combine(day, time(0), tzinfo=self.timezone).astimezone(UTC)

    def instant_bounds(self, days: DayRange) -> tuple[datetime | None, datetime | None]:
        """Instants whose day count is in `days`: `lower <= instant < upper` (None: open)."""
        lower = None if days.high is None else self.start_of_day(days.high)
        upper = None if days.low is None else self.start_of_day(days.low - 1)
        return lower, upper

    def month(self, relative: RelativeMonth) -> int:
        """This month (1-12) in the time zone, or the next one (December wraps to January)."""
        current = self.today.month
        return current if relative is RelativeMonth.CURRENT else current % 12 + 1


def instant_in(
    instant: sa.ColumnElement[datetime], ranges: list[DayRange], counter: DayCounter
) -> sa.ColumnElement[bool]:
    """SQL: `instant`'s day count falls in one of `ranges` (none: false)."""
    if not ranges:
        return sa.false()
    return sa.or_(*(_instant_in(instant, days, counter) for days in ranges))


def _instant_in(
    instant: sa.ColumnElement[datetime], days: DayRange, counter: DayCounter
) -> sa.ColumnElement[bool]:
    lower, upper = counter.instant_bounds(days)
    parts = []
    if lower is not None:
        parts.append(instant >= lower)
    if upper is not None:
        parts.append(instant < upper)
    return sa.and_(*parts) if parts else instant.is_not(None)


def day_ranges(leaf: Leaf) -> list[DayRange]:
    """The whole day counts a leaf accepts, as ranges; empty when it accepts none.

    Day counts are whole numbers, so a fractional bound is rounded to the nearest count it
    admits (`gt: 2.5` is `gte: 3`) and a fractional `equals` matches nothing.
    """
    if isinstance(leaf, Between):
        low, high = math.ceil(leaf.low), math.floor(leaf.high)
        return [DayRange(low, high)] if low <= high else []
    if isinstance(leaf, OneOf):
        counts = sorted(
            {int(number) for number in map(_number, leaf.values) if number.is_integer()}
        )
        return [DayRange(count, count) for count in counts]
    return _compare_range(leaf.op, _number(leaf.value))


def _compare_range(op: Op, value: float) -> list[DayRange]:
    if op is Op.EQUALS:
        return [DayRange(int(value), int(value))] if value.is_integer() else []
    if op is Op.GT:
        return [DayRange(math.floor(value) + 1, None)]
    if op is Op.GTE:
        return [DayRange(math.ceil(value), None)]
    if op is Op.LT:
        return [DayRange(None, math.ceil(value) - 1)]
    return [DayRange(None, math.floor(value))]


def _number(value: Value) -> float:
    if isinstance(value, str):
        raise TypeError(f"a day count must be a number, got {value!r}")
    return float(value)
