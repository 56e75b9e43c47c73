"""Dates and times of the synthetic shop as text, computed once instead of once per row.

Formatting a datetime per order would cost more than generating the order, so every day of the
window and every second of the day is formatted in advance; an ordered_at is two list lookups
and a concatenation. All times are Japan time with an explicit +09:00 offset: the files never
contain a time without its zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Final

Random = Callable[[], float]

JST_OFFSET: Final = "+09:00"
# Relative order volume per hour of the day (online orders peak after dinner, phone orders by
# day); only the shape matters.
_HOURLY_ORDERS: Final = (2, 1, 1, 0.5, 0.5, 1, 2, 3, 4, 6, 8, 8, 7, 7, 7, 6, 6, 5, 5, 6, 8, 9, 8, 5)
_HOUR_DRAWS: Final = 1000


def _hour_table() -> tuple[int, ...]:
    total = sum(_HOURLY_ORDERS)
    table: list[int] = []
    for hour, weight in enumerate(_HOURLY_ORDERS):
        table.extend([hour] * round(weight / total * _HOUR_DRAWS))
    return tuple(table)


class Stamps:
    """Text of dates counted back from `as_of`, and of order times on those dates."""

    def __init__(self, as_of: date, days: int) -> None:
        self.as_of = as_of
        self._dates = [(as_of - timedelta(days=ago)).isoformat() for ago in range(days + 1)]
        self._date_times = [f"{text}T" for text in self._dates]
        self._clock = [
            f"{hour:02d}:{minute:02d}:{second:02d}{JST_OFFSET}"
            for hour in range(24)
            for minute in range(60)
            for second in range(60)
        ]
        self._hours = _hour_table()

    def date(self, days_ago: int) -> str:
        """`2026-11-03` for a day of the window."""
        return self._dates[days_ago]

    def ordered_at(self, days_ago: int, random: Random) -> str:
        """`2026-11-03T21:14:09+09:00`, at an hour drawn from the shop's daily rhythm."""
        draw = random() * len(self._hours)
        slot = int(draw)
        second = int((draw - slot) * 3600)
        return self._date_times[days_ago] + self._clock[self._hours[slot] * 3600 + second]

    def at(self, days_ago: int, hour: int) -> str:
        """`2026-12-01T10:00:00+09:00`: a fixed time of day, e.g. when a mailing went out."""
        return self._date_times[days_ago] + self._clock[hour * 3600]

    def after(self, days: int) -> str:
        """A date `days` after `as_of` (next deliveries lie ahead of it)."""
        return (self.as_of + timedelta(days=days)).isoformat()
