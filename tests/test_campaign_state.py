"""Dialling, paused, or closed and why: the overview's first column."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from dialer.campaign_state import ClosedCode, State, campaign_state, unknown_campaign_state
from dialer.campaigns import Config
from tests.factories import JST, dispatch_campaign, make_dispatch_config


def config_with(**overrides: object) -> Config:
    campaign = dispatch_campaign(windows={"mon-fri": ["10:00-12:00", "13:00-18:00"]})
    campaign.update(overrides)
    return make_dispatch_config(campaign)


def state_at(config: Config, at: datetime, *, paused: bool = False):  # type: ignore[no-untyped-def]
    return campaign_state(config, config.campaigns[0], paused=paused, now=at)


MONDAY_11 = datetime(2026, 11, 2, 11, 0, tzinfo=JST)


def test_open_window_is_dialling() -> None:
    assert state_at(config_with(), MONDAY_11).state is State.DIALLING


def test_paused_wins_over_an_open_window() -> None:
    found = state_at(config_with(), MONDAY_11, paused=True)
    assert (found.state, found.reason) == (State.PAUSED, None)


def test_a_holiday_is_named() -> None:
    found = state_at(config_with(), datetime(2026, 11, 23, 11, 0, tzinfo=JST))
    assert (found.state, found.reason, found.detail) == (
        State.CLOSED,
        ClosedCode.HOLIDAY,
        "勤労感謝の日",
    )
    assert found.next_open_at == datetime(2026, 11, 24, 10, 0, tzinfo=JST)


def test_a_blackout_is_named() -> None:
    found = state_at(config_with(), datetime(2026, 12, 30, 11, 0, tzinfo=JST))
    assert (found.reason, found.detail) == (ClosedCode.BLACKOUT, "年末年始")
    assert found.next_open_at == datetime(2027, 1, 4, 10, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("clock", "reason"),
    [
        ((12, 30), ClosedCode.OUTSIDE_HOURS),  # the lunch break between windows
        ((11, 55), ClosedCode.LAST_DIAL_MARGIN),  # within 10 minutes of the window's end
        ((19, 0), ClosedCode.OUTSIDE_HOURS),
    ],
    ids=["lunch", "last-dial-margin", "evening"],
)
def test_closed_within_an_open_day(clock: tuple[int, int], reason: ClosedCode) -> None:
    found = state_at(config_with(), datetime(2026, 11, 2, *clock, tzinfo=JST))
    assert (found.state, found.reason) == (State.CLOSED, reason)
    assert found.next_open_at is not None


def test_a_weekend_without_a_window() -> None:
    found = state_at(config_with(), datetime(2026, 11, 7, 11, 0, tzinfo=JST))
    assert found.reason is ClosedCode.NO_WINDOW


def test_disabled_and_finished_have_no_next_open_time() -> None:
    disabled = state_at(config_with(enabled=False), MONDAY_11)
    assert (disabled.reason, disabled.next_open_at) == (ClosedCode.DISABLED, None)
    finished = state_at(
        config_with(dates={"from": date(2026, 6, 1), "to": date(2026, 8, 31)}), MONDAY_11
    )
    assert (finished.reason, finished.next_open_at) == (ClosedCode.FINISHED, None)


def test_before_its_first_day_a_campaign_has_not_started() -> None:
    found = state_at(
        config_with(dates={"from": date(2026, 12, 1), "to": date(2026, 12, 20)}), MONDAY_11
    )
    assert found.reason is ClosedCode.NOT_STARTED
    assert found.next_open_at == datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def test_a_paused_campaign_on_a_holiday_says_both() -> None:
    found = state_at(config_with(), datetime(2026, 11, 23, 11, 0, tzinfo=JST), paused=True)
    assert (found.state, found.reason) == (State.PAUSED, ClosedCode.HOLIDAY)


def test_unknown_campaigns() -> None:
    assert unknown_campaign_state(config_error=True).reason is ClosedCode.CONFIG_ERROR
    assert unknown_campaign_state(config_error=False).reason is ClosedCode.NOT_CONFIGURED
