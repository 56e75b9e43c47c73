"""How calling calendars are shown: the `dialer calendar` table and its stable JSON shape."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from dialer.calendar import DaySchedule

WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")


class DayScheduleJson(TypedDict):
    """One date of `dialer calendar --json`; see `schedules_as_json`."""

    date: str
    open: list[list[str]]
    closed: str | None
    closed_kind: str | None


def schedules_as_json(days: Sequence[DaySchedule]) -> list[DayScheduleJson]:
    """The stable `--json` shape, one object per date, in the order given::

        {"date": "2026-12-25",                      # local date, ISO 8601
         "open": [["10:00", "11:50"], ["13:00", "18:50"]],
                                                    # [start, end) local wall-clock intervals,
                                                    # sorted; "HH:MM", or "HH:MM:SS" when a
                                                    # bound falls between minutes; [] if closed
         "closed": null,                            # or the Japanese label: "成人の日", "年末年始"
         "closed_kind": null}                       # or "outside_dates", "blackout", "holiday",
                                                    # "no_window", "no_time_left"

    A day has either open intervals or both `closed` and `closed_kind`, never both.
    """
    return [
        {
            "date": day.date.isoformat(),
            "open": [[_hhmm(start), _hhmm(end)] for start, end in day.open],
            "closed": day.closed,
            "closed_kind": None if day.closed_kind is None else str(day.closed_kind),
        }
        for day in days
    ]


def schedules_as_table(days: Sequence[DaySchedule]) -> str:
    """One line per date for people: `2026-12-25 (金)  10:00-11:50  13:00-18:50`, or
    `2026-12-29 (火)  休: 年末年始` for a closed day; interval columns line up."""
    cells = [[f"{_hhmm(start)}-{_hhmm(end)}" for start, end in day.open] for day in days]
    width = max((len(cell) for row in cells for cell in row), default=0)
    lines = []
    for day, row in zip(days, cells, strict=True):
        heading = f"{day.date.isoformat()} ({WEEKDAYS_JA[day.date.weekday()]})"
        body = [cell.ljust(width) for cell in row] if row else [f"休: {day.closed}"]
        lines.append("  ".join([heading, *body]).rstrip())
    return "\n".join(lines)


def _hhmm(clock: time) -> str:
    """Minutes are enough for people; seconds appear only when a margin leaves some."""
    if clock.second or clock.microsecond:
        return clock.strftime("%H:%M:%S")
    return clock.strftime("%H:%M")
