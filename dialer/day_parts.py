"""Parts of the calling day (午前, 午後, 夕方), read on the campaign's local clock.

A customer who never answers in the morning may well answer in the evening: retries with
`vary_time_of_day` move to another part of the day than the last attempt's, and the IVR's
callback bands (1 = 午前, 2 = 午後, 3 = 夕方) name the same parts, so both search with
`next_callable_in_parts`. Like `dialer.calendar`, everything here is pure and exact across
daylight-saving changes: a part is a wall-clock range, turned into instants per local day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dialer.calendar import CallingRules, open_spans
from dialer.wallclock import Span, require_aware, spans_reading_within

NOON = time(12, 0)
EVENING_STARTS = time(17, 0)


class PartOfDay(StrEnum):
    """午前 before 12:00, 午後 from 12:00 to 17:00, 夕方 from 17:00, local time."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    @property
    def label_ja(self) -> str:
        return _LABELS_JA[self]

    @property
    def clock_range(self) -> tuple[time, time]:
        """[start, end) on the wall clock; the evening runs to the end of the day."""
        return _RANGES[self]

    def others(self) -> frozenset[PartOfDay]:
        """Every part but this one."""
        return frozenset(PartOfDay) - {self}


_LABELS_JA = {
    PartOfDay.MORNING: "午前",
    PartOfDay.AFTERNOON: "午後",
    PartOfDay.EVENING: "夕方",
}
_RANGES = {
    PartOfDay.MORNING: (time(0, 0), NOON),
    PartOfDay.AFTERNOON: (NOON, EVENING_STARTS),
    PartOfDay.EVENING: (EVENING_STARTS, time.max),
}


def part_of_day(at: datetime, tz: ZoneInfo) -> PartOfDay:
    """The part of the day that the local clock in `tz` reads at the instant `at`."""
    require_aware(at)
    clock = at.astimezone(tz).time()
    if clock < NOON:
        return PartOfDay.MORNING
    if clock < EVENING_STARTS:
        return PartOfDay.AFTERNOON
    return PartOfDay.EVENING


def next_callable_in_parts(
    rules: CallingRules, parts: Collection[PartOfDay], at: datetime, *, horizon: timedelta
) -> datetime | None:
    """The earliest callable instant in [at, at + horizon] whose local reading falls in one of
    `parts`, in the rules' time zone; None when there is none."""
    require_aware(at)
    at_utc = at.astimezone(UTC)
    limit = at_utc + horizon
    found: list[datetime] = []
    today = at_utc.astimezone(rules.timezone).date()
    # From the day before (its repeated hour may follow `at` after a fall-back) to the horizon.
    for offset in range(-1, horizon.days + 2):
        day = today + timedelta(days=offset)
        looked_ahead = bool(found)
        found.extend(_first_instants(rules, parts, day, at_utc))
        # One day past the first hit is enough, as in `calendar.next_callable`.
        if looked_ahead:
            break
    earliest = min(found, default=None)
    if earliest is None or earliest > limit:
        return None
    return earliest.astimezone(rules.timezone)


def _first_instants(
    rules: CallingRules, parts: Collection[PartOfDay], day: date, at_utc: datetime
) -> list[datetime]:
    """Per intersection of an open span of `day` with one of the parts, its first instant
    at or after `at_utc`."""
    opened = [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in open_spans(rules, day)]
    if not opened:
        return []
    wanted: list[Span] = [
        span
        for part in parts
        for span in spans_reading_within(rules.timezone, day, *part.clock_range)
    ]
    starts = []
    for open_start, open_end in opened:
        for part_start, part_end in wanted:
            start = max(open_start, part_start, at_utc)
            if start < min(open_end, part_end):
                starts.append(start)
    return starts
