"""The overview's figures against a day of calls whose figures are worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dialer.campaign_control import pause
from dialer.campaign_state import ClosedCode, State
from dialer.campaigns import Config
from dialer.kpis import CampaignRow, ListCounts, overview
from dialer.models import CallStatus, EntryState
from tests.factories import (
    JST,
    dispatch_campaign,
    make_attempt,
    make_busy_operator,
    make_dispatch_config,
    make_entry,
    make_key_press,
)

#: Monday 2 November 2026, 11:00 in Tokyo: both campaigns are open.
NOW = datetime(2026, 11, 2, 11, 0, tzinfo=JST)
F2 = "f2-followup"
WINBACK = "winback"


@pytest.fixture
def config() -> Config:
    return make_dispatch_config(
        dispatch_campaign(F2, priority=80), dispatch_campaign(WINBACK, priority=40)
    )


@dataclass
class Call:
    """One attempt of the hand-worked day."""

    at: datetime
    status: CallStatus | None = CallStatus.COMPLETED
    outcome: str | None = "human"
    answered_by: str | None = None
    duration: int | None = None
    disposition: str | None = None
    queue_result: str | None = None
    queue_time: int | None = None
    keys: tuple[str, ...] = ()
    campaign: str = F2


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=JST)


#: f2-followup, today unless said otherwise. What each one counts for, by hand:
DAY = [
    # 1 human, converted, waited 30 s in the queue then bridged
    Call(at(10, 5), duration=120, disposition="converted", queue_result="bridged",
         queue_time=30, keys=("agent",)),
    # 2 human, retained (a variant counts as retained)
    Call(at(10, 10), duration=60, disposition="retained_skip"),
    # 3 human, refused by disposition: an opt-out
    Call(at(10, 15), duration=200, disposition="refused"),
    # 4 answering machine: dialled only
    Call(at(10, 20), outcome="machine", answered_by="machine_start", duration=20),
    # 5 no answer
    Call(at(10, 25), status=CallStatus.NO_ANSWER, outcome="no-answer"),
    # 6 busy, ten past midnight Tokyo time (still 1 November in UTC): today
    Call(at(0, 10), status=CallStatus.BUSY, outcome="busy"),
    # 7 released without a call: not dialled
    Call(at(10, 30), status=CallStatus.CANCELED, outcome="canceled"),
    # 8 live: a person on the line, waiting in the hold queue (answered: counts as human)
    Call(at(10, 55), status=CallStatus.IN_PROGRESS, outcome=None, answered_by="human",
         keys=("agent",)),
    # 9 human, hung up after 50 s in the queue: abandoned
    Call(at(10, 40), duration=40, queue_result="hangup", queue_time=50, keys=("agent",)),
    # 10 human, pressed the opt-out key
    Call(at(10, 45), duration=15, keys=("opt_out",)),
    # 11 yesterday, 23:30 Tokyo time: not today
    Call(at(23, 30, day=1), duration=999, disposition="converted"),
    # 12 human, the queue was full: never waited, so not in the abandonment figures
    Call(at(10, 50), duration=10, queue_result="queue-full"),
    # winback: a person without a recorded duration, and a failure
    Call(at(10, 0), campaign=WINBACK),
    Call(at(10, 1), status=CallStatus.FAILED, outcome="failed", campaign=WINBACK),
]  # fmt: skip


def record_day(session: Session, calls: list[Call] = DAY) -> None:
    """Each call on its own customer's entry, closed unless the call is live."""
    for call in calls:
        live = call.outcome is None
        entry = make_entry(
            session,
            campaign_id=call.campaign,
            state=EntryState.IN_PROGRESS if live else EntryState.DONE,
        )
        attempt = make_attempt(
            session,
            entry,
            started_at=call.at,
            status=call.status,
            outcome=call.outcome,
            ended_at=None if live else call.at + timedelta(minutes=3),
        )
        attempt.answered_by = call.answered_by
        attempt.duration_seconds = call.duration
        attempt.disposition = call.disposition
        attempt.queue_result = call.queue_result
        attempt.queue_time_seconds = call.queue_time
        for action in call.keys:
            make_key_press(session, attempt, action=action, pressed_at=call.at)
    # f2-followup's list beyond the called: two waiting, one held back, one retired.
    for state in (EntryState.PENDING, EntryState.PENDING, EntryState.SUPPRESSED):
        make_entry(session, campaign_id=F2, state=state)
    make_entry(session, campaign_id=F2, state=EntryState.RETIRED)
    session.commit()


def row(session: Session, config: Config, campaign_id: str) -> CampaignRow:
    found = overview(session, config, now=NOW)
    return next(item for item in found.rows if item.campaign_id == campaign_id)


def test_counts_of_the_day_match_the_hand_count(session: Session, config: Config) -> None:
    record_day(session)
    today = row(session, config, F2).today
    assert today.dialled == 10  # 12 calls, less the canceled one and yesterday's
    assert today.human == 7  # 1, 2, 3, 8, 9, 10, 12
    assert today.conversions == 2  # converted and retained_skip
    assert today.entered_queue == 2  # bridged and hangup; queue-full never waited
    assert today.abandoned == 1
    assert today.opt_outs == 2  # refused disposition and the opt-out key
    assert today.live == 1
    assert today.in_queue == 1


def test_rates_of_the_day_match_the_hand_count(session: Session, config: Config) -> None:
    record_day(session)
    today = row(session, config, F2).today
    assert today.contact_rate == pytest.approx(7 / 10)
    assert today.conversion_rate == pytest.approx(2 / 7)
    assert today.abandon_rate == pytest.approx(1 / 2)
    assert today.average_queue_wait == pytest.approx((30 + 50) / 2)
    # the live call has no duration yet
    assert today.average_handle_time == pytest.approx((120 + 60 + 200 + 40 + 15 + 10) / 6)


def test_list_counts_leave_retired_entries_out(session: Session, config: Config) -> None:
    record_day(session)
    lists = row(session, config, F2).lists
    # 12 called entries: 11 closed, 1 in progress; then 2 pending, 1 suppressed, 1 retired.
    assert lists == ListCounts(pending=2, in_progress=1, suppressed=1, done=11)
    assert lists.list_size == 15
    assert lists.remaining == 2


def test_undefined_rates_are_none_not_zero(session: Session, config: Config) -> None:
    record_day(session)
    today = row(session, config, WINBACK).today
    assert (today.dialled, today.human) == (2, 1)
    assert today.conversion_rate == 0
    assert today.abandon_rate is None
    assert today.average_handle_time is None
    assert today.average_queue_wait is None


def test_a_campaign_without_rows_still_has_its_row(session: Session, config: Config) -> None:
    found = overview(session, config, now=NOW)
    assert [item.campaign_id for item in found.rows] == [F2, WINBACK]
    assert found.rows[0].today.contact_rate is None
    assert found.rows[0].lists.list_size == 0


def test_totals_add_up_every_campaign(session: Session, config: Config) -> None:
    record_day(session)
    found = overview(session, config, now=NOW)
    assert found.today.dialled == 12
    assert found.today.human == 8
    assert found.today.contact_rate == pytest.approx(8 / 12)
    assert found.lists.list_size == 17


def test_campaigns_are_ordered_by_priority_and_dialling_when_open(
    session: Session, config: Config
) -> None:
    found = overview(session, config, now=NOW)
    assert [item.state.state for item in found.rows] == [State.DIALLING, State.DIALLING]


def test_a_campaign_held_back_by_its_hold_queue_says_how_long_the_next_caller_would_wait(
    session: Session,
) -> None:
    """The one operator is on a call: the next caller would wait a whole handle time (the
    default 180 s, with no history), more than half of the 90 s `max_queue_wait`."""
    config = make_dispatch_config(dispatch_campaign(F2, mode="ivr-then-agent"))
    assert not row(session, config, F2).held_back
    make_busy_operator(session, NOW, campaign_id=F2)
    session.commit()
    found = row(session, config, F2)
    assert found.state.state is State.DIALLING
    assert (found.held_back, found.queue_wait) == (True, 180)


def test_an_agentless_campaign_has_no_queue_wait(session: Session, config: Config) -> None:
    found = row(session, config, F2)
    assert (found.held_back, found.queue_wait) == (False, None)


def test_a_paused_campaign_shows_who_paused_it(session: Session, config: Config) -> None:
    pause(session, WINBACK, by="kanri", now=NOW, reason="operators in training")
    session.commit()
    found = row(session, config, WINBACK)
    assert found.state.state is State.PAUSED
    assert found.pause is not None
    assert (found.pause.changed_by, found.pause.reason) == ("kanri", "operators in training")


def test_a_campaign_missing_from_the_configuration_is_listed_as_such(
    session: Session, config: Config
) -> None:
    make_entry(session, campaign_id="retired-campaign")
    session.commit()
    found = row(session, config, "retired-campaign")
    assert found.name is None
    assert found.state.reason is ClosedCode.NOT_CONFIGURED


def test_without_a_valid_configuration_every_campaign_is_a_config_error(
    session: Session,
) -> None:
    record_day(session)
    found = overview(session, None, now=NOW)
    assert not found.config_ok
    assert {item.campaign_id for item in found.rows} == {F2, WINBACK}
    assert {item.state.reason for item in found.rows} == {ClosedCode.CONFIG_ERROR}
    assert next(r for r in found.rows if r.campaign_id == F2).today.dialled == 10


def test_overview_leaves_no_transaction_open(session: Session, config: Config) -> None:
    overview(session, config, now=NOW)
    assert not session.in_transaction()


def test_today_starts_at_midnight_in_the_campaigns_own_zone(session: Session) -> None:
    """A campaign calling New York counts from New York's midnight, not Tokyo's."""
    campaign = {**dispatch_campaign(F2), "timezone": "America/New_York"}
    config = make_dispatch_config(campaign)
    entry = make_entry(session, state=EntryState.DONE)
    # 10:00 on 2 November in Tokyo is 20:00 on 1 November in New York (EST, UTC-5).
    make_attempt(session, entry, started_at=at(10), outcome="busy", status=CallStatus.BUSY)
    session.commit()
    evening_in_new_york = at(13)  # 23:00 on the 1st there: the call was today
    assert overview(session, config, now=evening_in_new_york).rows[0].today.dialled == 1
    past_midnight_in_new_york = at(15)  # 01:00 on the 2nd there: a new day
    assert overview(session, config, now=past_midnight_in_new_york).rows[0].today.dialled == 0
