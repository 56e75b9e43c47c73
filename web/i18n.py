"""The dashboard's languages: Japanese by default, English on request.

A small dictionary layer rather than gettext catalogs: messages are written in English in the
code and templates (`_("Overview")`), and `web.translations.ja` maps each to its Japanese text,
so there is no compile step and a fresh clone runs as is; a test checks that every message has
its translation. Codes from the domain (states, outcomes, reasons) are shown through `label`.

Times are shown in the zone they belong to (a campaign's, or the company's), Japanese style
(`2026年11月24日(火) 10:15`) or English (`Tue 24 Nov 2026 10:15`); numbers with separators,
rates as percentages, durations as m:ss.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from flask import Flask, session

from dialer.calendar_report import WEEKDAYS_JA
from dialer.lists_report import japanese_datetime
from web.translations.ja import MESSAGES
from web.translations.labels import LABELS

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "day",
    "gettext",
    "init_app",
    "label",
    "language",
    "number",
    "percent",
    "seconds",
    "when",
]

DEFAULT_LANGUAGE: Final = "ja"
LANGUAGES: Final[Mapping[str, str]] = {"ja": "日本語", "en": "English"}
_WEEKDAYS_EN: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
)  # fmt: skip
EMPTY: Final = "—"


def language() -> str:
    """The language of the current request's browser session."""
    chosen = session.get("lang")
    return chosen if isinstance(chosen, str) and chosen in LANGUAGES else DEFAULT_LANGUAGE


def gettext(message: str, **values: object) -> str:
    """`message` in the current language, with `%(name)s` placeholders filled from `values`."""
    text = MESSAGES.get(message, message) if language() == "ja" else message
    return text % values if values else text


def label(vocabulary: str, code: str | None) -> str:
    """The name of a domain code (`label("outcome", "no-answer")`); unknown codes as they are."""
    if code is None:
        return EMPTY
    english = LABELS.get(vocabulary, {}).get(code)
    return gettext(english) if english is not None else code


def when(at: datetime | None, zone: ZoneInfo) -> str:
    """An instant as read in `zone`, to the minute."""
    if at is None:
        return EMPTY
    if language() == "ja":
        return japanese_datetime(at, zone)
    local = at.astimezone(zone)
    weekday, month = _WEEKDAYS_EN[local.weekday()], _MONTHS_EN[local.month - 1]
    return f"{weekday} {local.day} {month} {local.year} {local:%H:%M}"


def clock(at: datetime | None, zone: ZoneInfo) -> str:
    """Only the time of day (for today's rows)."""
    return EMPTY if at is None else f"{at.astimezone(zone):%H:%M:%S}"


def day(value: date | None) -> str:
    """A calendar date."""
    if value is None:
        return EMPTY
    if language() == "ja":
        return f"{value.year}年{value.month}月{value.day}日({WEEKDAYS_JA[value.weekday()]})"
    return f"{_WEEKDAYS_EN[value.weekday()]} {value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def number(value: int | None) -> str:
    return EMPTY if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return EMPTY if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    """A duration as m:ss (h:mm:ss past an hour)."""
    if value is None:
        return EMPTY
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def yen(value: int) -> str:
    return f"¥{value:,}"


def init_app(app: Flask) -> None:
    """Make the helpers available to every template."""
    app.jinja_env.globals.update(
        _=gettext,
        label=label,
        when=when,
        clock=clock,
        day=day,
        number=number,
        percent=percent,
        seconds=seconds,
        yen=yen,
        language=language,
        LANGUAGES=LANGUAGES,
    )
