"""Our holiday closures agree with the Cabinet Office's own list (内閣府「国民の祝日」CSV).

The `holidays` package is what the calendar uses; the official CSV is an independent oracle for
every date it covers from 2000 on: each listed date is closed as a holiday, and no other date is.
"""

from __future__ import annotations

import csv
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import CallingRules, day_schedule

SYUKUJITSU_CSV = Path(__file__).resolve().parents[2] / "shared" / "jp" / "syukujitsu.csv"
FIRST_YEAR = 2000

# Every weekday has a window and nothing else closes a day, so only holidays can.
ALWAYS_OPEN_BUT_HOLIDAYS = CallingRules(
    timezone=ZoneInfo("Asia/Tokyo"),
    windows=dict.fromkeys(range(7), ((time(10), time(18)),)),
    policy_hours=(time(9), time(20)),
    holidays="JP",
    blackouts=(),
    last_dial_margin=timedelta(minutes=10),
)

# The CSV lists substitute holidays (振替休日) and citizens' holidays (国民の休日) both as 「休日」.
OFFICIAL_SUBSTITUTE_OR_CITIZENS = "休日"

# Where the two sources name the same closed day differently, and why:
# - 2019-05-01 and 2019-10-22 were made days off by a one-off act (平成30年法律第99号, 天皇の即位の
#   日及び即位礼正殿の儀の行われる日を休日とする法律); the Cabinet Office lists them as
#   「休日（祝日扱い）」, the package names the occasion.
# - 2019-10-14 was still 体育の日 by law (renamed スポーツの日 from 2020); the Cabinet Office
#   adds the coming name in brackets, the package gives the name then in force.
KNOWN_NAME_DIFFERENCES = {
    date(2019, 5, 1): ("休日（祝日扱い）", "天皇の即位の日"),
    date(2019, 10, 14): ("体育の日（スポーツの日）", "体育の日"),
    date(2019, 10, 22): ("休日（祝日扱い）", "即位礼正殿の儀が行われる日"),
}


def official_holidays() -> dict[date, str]:
    """The CSV's dates from FIRST_YEAR on, as {date: name}."""
    if not SYUKUJITSU_CSV.is_file():
        pytest.skip(f"official holiday list not found at {SYUKUJITSU_CSV} (it sits in ../shared)")
    with SYUKUJITSU_CSV.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))[1:]
    listed = {_parse_date(day): name for day, name in rows}
    return {day: name for day, name in listed.items() if day.year >= FIRST_YEAR}


def _parse_date(text: str) -> date:
    year, month, day = (int(part) for part in text.split("/"))
    return date(year, month, day)


@pytest.fixture(scope="module")
def official() -> dict[date, str]:
    return official_holidays()


def test_every_official_holiday_is_closed_as_a_holiday(official: dict[date, str]) -> None:
    not_closed = {
        day: kind
        for day in official
        if (kind := day_schedule(ALWAYS_OPEN_BUT_HOLIDAYS, day).closed_kind) != "holiday"
    }
    assert not_closed == {}


def test_no_other_day_is_a_holiday(official: dict[date, str]) -> None:
    last_day = date(max(official).year, 12, 31)
    days = (
        date.fromordinal(n)
        for n in range(date(FIRST_YEAR, 1, 1).toordinal(), last_day.toordinal() + 1)
    )
    extra = {
        day: schedule.closed
        for day in days
        if day not in official
        and (schedule := day_schedule(ALWAYS_OPEN_BUT_HOLIDAYS, day)).closed_kind is not None
    }
    assert extra == {}


def test_holiday_names_match_the_official_ones(official: dict[date, str]) -> None:
    mismatched = {
        day: (name, ours)
        for day, name in official.items()
        if name != OFFICIAL_SUBSTITUTE_OR_CITIZENS
        and (ours := day_schedule(ALWAYS_OPEN_BUT_HOLIDAYS, day).closed) != name
    }
    assert mismatched == KNOWN_NAME_DIFFERENCES


def test_official_kyujitsu_is_citizens_holiday_when_sandwiched_else_substitute(
    official: dict[date, str],
) -> None:
    """A 「休日」 between two holidays is 国民の休日 (祝日法 第3条第3項); any other is 振替休日
    (第3条第2項): the package must name each one accordingly."""
    one_day = timedelta(days=1)
    expected = {
        day: "国民の休日" if day - one_day in official and day + one_day in official else "振替休日"
        for day, name in official.items()
        if name == OFFICIAL_SUBSTITUTE_OR_CITIZENS
    }
    ours = {day: day_schedule(ALWAYS_OPEN_BUT_HOLIDAYS, day).closed for day in expected}
    assert ours == expected
    assert set(expected.values()) == {"国民の休日", "振替休日"}
