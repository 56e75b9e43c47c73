"""The charts' series: today per hour, contact rate per hour of day, outcomes per campaign."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from dialer.trends import outcomes_by_campaign, trends
from tests.factories import JST
from tests.test_kpis import DAY, NOW, WINBACK, Call, at, record_day


def test_today_counts_each_call_in_its_tokyo_hour(session: Session) -> None:
    record_day(session)
    today = trends(session, JST, now=NOW).today
    assert today[0]["busy"] == 1  # 00:10 Tokyo time, still the 1st in UTC
    # f2-followup's seven (the live call was answered by a person) and winback's one
    assert today[10]["human"] == 8
    assert today[10]["machine"] == 1
    assert today[10]["no-answer"] == 1
    assert today[10]["failed"] == 1
    assert sum(hour["live"] for hour in today) == 0  # "live" is for calls not answered yet
    assert sum(sum(hour.values()) for hour in today) == 12  # canceled and yesterday's left out


def test_contact_rate_by_hour_over_thirty_days(session: Session) -> None:
    record_day(session)
    record_day(session, [Call(at(14) - timedelta(days=5)), Call(at(14, 30), outcome="busy")])
    contact = trends(session, JST, now=NOW + timedelta(hours=4)).contact
    assert (contact[14].dialled, contact[14].human) == (2, 1)
    assert contact[14].contact_rate == 0.5
    assert contact[23].dialled == 1  # yesterday 23:30 is within the 30 days
    assert contact[3].contact_rate is None


def test_calls_older_than_the_period_are_left_out(session: Session) -> None:
    record_day(session, [Call(at(10) - timedelta(days=31))])
    assert trends(session, JST, now=NOW).contact[10].dialled == 0


def test_outcomes_per_campaign(session: Session) -> None:
    record_day(session)
    by_campaign = outcomes_by_campaign(session, now=NOW)
    assert by_campaign[WINBACK] == {
        "human": 1,
        "machine": 0,
        "busy": 0,
        "no-answer": 0,
        "failed": 1,
        "live": 0,
    }
    assert sum(by_campaign["f2-followup"].values()) == len(DAY) - 2 - 1  # less winback, canceled


def test_trends_leave_no_transaction_open(session: Session) -> None:
    trends(session, JST, now=NOW)
    assert not session.in_transaction()
