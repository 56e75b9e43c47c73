"""From the configuration to the calendar's input, and the lookups other modules rely on."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import Blackout
from dialer.campaigns import Config, calling_rules, load_config, parse_config
from dialer.errors import UnknownCampaignError

SAMPLE = Path(__file__).resolve().parents[1] / "campaigns.yaml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SAMPLE)


def test_calling_rules_of_f2_followup(config: Config) -> None:
    rules = calling_rules(config, "f2-followup")
    weekday = ((time(10), time(12)), (time(13), time(19)))
    assert rules.timezone == ZoneInfo("Asia/Tokyo")
    assert dict(rules.windows) == {
        0: weekday,
        1: weekday,
        2: weekday,
        3: weekday,
        4: weekday,
        5: ((time(10), time(17)),),
    }
    assert rules.policy_hours == (time(9), time(20))
    assert rules.holidays == "JP"
    assert rules.blackouts[0] == Blackout(start=(12, 29), end=(1, 3), name="年末年始")
    assert rules.last_dial_margin == timedelta(minutes=10)
    assert (rules.first_day, rules.last_day) == (date(2026, 12, 1), date(2027, 1, 31))


def test_calling_rules_without_dates_are_unbounded(config: Config) -> None:
    rules = calling_rules(config, "cancel-save")
    assert (rules.first_day, rules.last_day) == (None, None)
    assert set(rules.windows) == {0, 1, 2, 3, 4, 5}


def test_campaign_time_zone_overrides_the_company_and_holidays_can_be_off() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("  holidays: JP ", "  holidays: none ")
    text = text.replace(
        "    kind: service\n    priority: 90\n",
        "    kind: service\n    priority: 90\n    timezone: Asia/Seoul\n",
    )
    rules = calling_rules(parse_config(text.encode(), "campaigns.yaml"), "cancel-save")
    assert rules.timezone == ZoneInfo("Asia/Seoul")
    assert rules.holidays is None


def test_unknown_campaign_names_the_known_ones(config: Config) -> None:
    with pytest.raises(UnknownCampaignError) as caught:
        calling_rules(config, "f2-folowup")
    message = str(caught.value)
    assert "unknown campaign 'f2-folowup' (did you mean 'f2-followup'?)" in message
    assert "cancel-save" in message


def test_config_resolves_caller_id_and_operators(config: Config) -> None:
    assert config.caller_id_of(config.campaign("f2-followup")) == "+81312345678"
    assert config.caller_id_of(config.campaign("cancel-save")) == "+81120123456"
    assert [operator.id for operator in config.operators_for("cancel-save")] == [
        "suzuki",
        "takahashi",
    ]


@pytest.mark.parametrize(
    ("days", "score"), [(0, 5), (30, 5), (31, 4), (90, 4), (180, 3), (365, 2), (366, 1)]
)
def test_recency_score(config: Config, days: int, score: int) -> None:
    assert config.rfm.recency_score(days) == score


@pytest.mark.parametrize(
    ("orders", "score"), [(1, 1), (2, 2), (3, 3), (5, 3), (6, 4), (11, 4), (12, 5)]
)
def test_frequency_score(config: Config, orders: int, score: int) -> None:
    assert config.rfm.frequency_score(orders) == score


@pytest.mark.parametrize(
    ("yen", "score"), [(5000, 1), (5001, 2), (15000, 3), (20000, 4), (20001, 5)]
)
def test_monetary_score(config: Config, yen: int, score: int) -> None:
    assert config.rfm.monetary_score(yen) == score
