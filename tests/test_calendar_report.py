"""`dialer calendar` output: the stable JSON shape and the aligned table people read."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from dialer.calendar import (
    Blackout,
    CallingRules,
    DaySchedule,
    day_schedule,
    schedules_as_json,
    schedules_as_table,
)

WEEKDAY_WINDOWS = ((time(10), time(12)), (time(13), time(19)))
CAMPAIGN = CallingRules(
    timezone=ZoneInfo("Asia/Tokyo"),
    windows={**dict.fromkeys(range(5), WEEKDAY_WINDOWS), 5: ((time(10), time(17)),)},
    policy_hours=(time(9), time(20)),
    holidays="JP",
    blackouts=(Blackout(start=(12, 29), end=(1, 3), name="年末年始"),),
    last_dial_margin=timedelta(minutes=10),
    first_day=date(2026, 12, 1),
    last_day=date(2027, 1, 31),
)


def schedules(first: date, last: date) -> list[DaySchedule]:
    return [
        day_schedule(CAMPAIGN, date.fromordinal(n))
        for n in range(first.toordinal(), last.toordinal() + 1)
    ]


def test_json_gives_one_object_per_date_with_open_intervals_or_a_reason() -> None:
    days = schedules(date(2026, 12, 25), date(2026, 12, 29))
    assert schedules_as_json(days) == [
        {
            "date": "2026-12-25",
            "open": [["10:00", "11:50"], ["13:00", "18:50"]],
            "closed": None,
            "closed_kind": None,
        },
        {"date": "2026-12-26", "open": [["10:00", "16:50"]], "closed": None, "closed_kind": None},
        {
            "date": "2026-12-27",
            "open": [],
            "closed": "日曜日は発信枠なし",
            "closed_kind": "no_window",
        },
        {
            "date": "2026-12-28",
            "open": [["10:00", "11:50"], ["13:00", "18:50"]],
            "closed": None,
            "closed_kind": None,
        },
        {"date": "2026-12-29", "open": [], "closed": "年末年始", "closed_kind": "blackout"},
    ]


def test_json_kinds_are_plain_strings_and_survive_serialisation() -> None:
    days = [
        *schedules(date(2027, 1, 10), date(2027, 1, 11)),
        day_schedule(CAMPAIGN, date(2027, 2, 1)),
    ]
    text = json.dumps(schedules_as_json(days), ensure_ascii=False)
    assert json.loads(text) == [
        {
            "date": "2027-01-10",
            "open": [],
            "closed": "日曜日は発信枠なし",
            "closed_kind": "no_window",
        },
        {"date": "2027-01-11", "open": [], "closed": "成人の日", "closed_kind": "holiday"},
        {
            "date": "2027-02-01",
            "open": [],
            "closed": "キャンペーン期間外",
            "closed_kind": "outside_dates",
        },
    ]
    assert all(type(day["closed_kind"]) is str for day in schedules_as_json(days))


def test_json_shows_seconds_only_when_a_bound_has_them() -> None:
    rules = replace(CAMPAIGN, last_dial_margin=timedelta(seconds=30))
    assert schedules_as_json([day_schedule(rules, date(2026, 12, 26))])[0]["open"] == [
        ["10:00", "16:59:30"]
    ]


def test_table_has_one_aligned_line_per_date() -> None:
    table = schedules_as_table(schedules(date(2026, 12, 25), date(2026, 12, 29)))
    assert table.splitlines() == [
        "2026-12-25 (金)  10:00-11:50  13:00-18:50",
        "2026-12-26 (土)  10:00-16:50",
        "2026-12-27 (日)  休: 日曜日は発信枠なし",
        "2026-12-28 (月)  10:00-11:50  13:00-18:50",
        "2026-12-29 (火)  休: 年末年始",
    ]


def test_table_columns_line_up_when_a_bound_has_seconds() -> None:
    days = [
        DaySchedule(
            date(2026, 12, 25), ((time(10), time(11, 59, 30)), (time(13), time(14))), None, None
        ),
        DaySchedule(date(2026, 12, 26), ((time(10), time(12)), (time(13), time(14))), None, None),
    ]
    assert schedules_as_table(days).splitlines() == [
        "2026-12-25 (金)  10:00-11:59:30  13:00-14:00",
        "2026-12-26 (土)  10:00-12:00     13:00-14:00",
    ]


def test_empty_range_renders_empty() -> None:
    assert schedules_as_json([]) == []
    assert schedules_as_table([]) == ""
