"""Local wall-clock readings and the instants behind them, exact across daylight-saving changes.

Calling windows are wall-clock times: "10:00-12:00" is what the callee's clock reads. Near a
transition a reading may not exist (spring forward) or occur twice (fall back), so the instants
whose reading lies in a wall-clock interval are not always one plain range. They are found here
from the two `fold` interpretations of each bound, and no nonexistent local time ever leaves
this module.

Instants are compared in UTC only: Python compares two datetimes that share a tzinfo by their
wall clock, ignoring `fold`, which puts a fall-back's second pass before its first.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

# [start, end) as aware UTC instants
Span = tuple[datetime, datetime]


def require_aware(at: datetime) -> None:
    """Refuse a naive datetime: without a zone it names no instant, and guessing one is a bug."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware instant")


def reading(at: datetime, tz: ZoneInfo) -> tuple[date, time]:
    """The local date and clock time that `at` shows in `tz` (always a time that exists)."""
    local = at.astimezone(tz)
    return local.date(), local.time()


def spans_reading_within(tz: ZoneInfo, day: date, start: time, end: time) -> tuple[Span, ...]:
    """The instants whose reading in `tz` lies in [start, end) on `day`, as sorted UTC spans.

    The reading only enters or leaves the interval where it crosses a bound or jumps at a
    transition, and every such instant is among the bounds' interpretations and the transitions
    between them; between two consecutive ones, membership does not change.
    """
    events = sorted({*_events(tz, day, start), *_events(tz, day, end)})
    inside = [
        (first, second)
        for first, second in pairwise(events)
        if _reads_within(first, tz, day, start, end)
    ]
    return merge_spans(inside)


def merge_spans(spans: list[Span]) -> tuple[Span, ...]:
    """Sort spans and join those that overlap or touch, so no instant is counted twice."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def first_instant_from(spans: tuple[Span, ...], at: datetime) -> datetime | None:
    """The earliest instant at or after `at` inside `spans` (sorted, disjoint), if any."""
    for start, end in spans:
        if end > at:
            return max(start, at)
    return None


def _reads_within(at: datetime, tz: ZoneInfo, day: date, start: time, end: time) -> bool:
    local_day, clock = reading(at, tz)
    return local_day == day and start <= clock < end


def _events(tz: ZoneInfo, day: date, clock: time) -> list[datetime]:
    """Where the reading may reach `clock` on `day`: both interpretations, and the transition
    between them when they differ (the clock falls in a gap or in a repeated hour)."""
    local = datetime.combine(day, clock, tzinfo=tz)
    earlier_offset = local.astimezone(UTC)
    later_offset = local.replace(fold=1).astimezone(UTC)
    if earlier_offset == later_offset:
        return [earlier_offset]
    low, high = sorted((earlier_offset, later_offset))
    return [low, high, _transition_between(tz, low, high)]


def _transition_between(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant after `low` with another UTC offset (tz transitions fall on seconds)."""
    before, after = math.floor(low.timestamp()), math.ceil(high.timestamp())
    offset = _offset_at(tz, before)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset_at(tz, middle) == offset:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _offset_at(tz: ZoneInfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()
