"""The hold queue's brake (`dialer.hold_queue`): a campaign dials only while the next caller would
get an operator within half of `max_queue_wait` (45 s of the default 90 s)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from dialer.campaigns import Config, parse_config
from dialer.hold_queue import DEFAULT_HANDLE, expected_wait, read_outlook
from dialer.models import Attempt, CallStatus, EntryState
from tests.conftest import DISPATCH_NOW
from tests.factories import (
    dispatch_campaign,
    dispatch_config_yaml,
    make_attempt,
    make_busy_operator,
    make_entry,
    make_key_press,
)

NOW = DISPATCH_NOW


def test_free_operators_take_the_first_callers_at_once() -> None:
    assert expected_wait(ahead=1, free=2, serving=2, handle_seconds=180) == 0


def test_each_caller_beyond_the_free_operators_waits_a_share_of_a_handle_time() -> None:
    assert expected_wait(ahead=2, free=1, serving=2, handle_seconds=180) == 180
    assert expected_wait(ahead=0, free=0, serving=3, handle_seconds=180) == 60


def test_a_queue_nobody_serves_is_an_endless_wait() -> None:
    assert expected_wait(ahead=0, free=0, serving=0, handle_seconds=180) == math.inf


@given(
    ahead=st.floats(0, 50),
    more=st.floats(0, 10),
    free=st.integers(0, 10),
    busy=st.integers(0, 10),
    handle=st.floats(1, 600),
)
def test_more_callers_ahead_never_shorten_the_wait_and_a_free_operator_never_lengthens_it(
    ahead: float, more: float, free: int, busy: int, handle: float
) -> None:
    serving = free + busy
    wait = expected_wait(ahead=ahead, free=free, serving=serving, handle_seconds=handle)
    assert expected_wait(ahead=ahead + more, free=free, serving=serving, handle_seconds=handle) >= (
        wait
    )
    if busy:
        freed = expected_wait(ahead=ahead, free=free + 1, serving=serving, handle_seconds=handle)
        assert freed <= wait


def config_with(operators: dict[str, list[str]], *campaign_ids: str) -> Config:
    """ivr-then-agent campaigns served by `operators` (id → the campaigns they serve)."""
    campaigns = [dispatch_campaign(c, mode="ivr-then-agent") for c in campaign_ids]
    document: dict[str, Any] = yaml.safe_load(dispatch_config_yaml(*campaigns))
    document["operators"] = [
        {"id": operator, "name": operator, "phone": f"+8131111{n:04d}", "queues": queues}
        for n, (operator, queues) in enumerate(operators.items())
    ]
    return parse_config(yaml.safe_dump(document, allow_unicode=True).encode(), "campaigns.yaml")


def live_call(session: Session, campaign_id: str, *, asked: bool = False) -> Attempt:
    """A call in progress; `asked`: the caller pressed the operator key and waits."""
    entry = make_entry(session, campaign_id=campaign_id, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, started_at=NOW - timedelta(minutes=1))
    attempt.status = CallStatus.IN_PROGRESS
    if asked:
        make_key_press(session, attempt, action="agent", digits="1")
    return attempt


def ended_call(session: Session, campaign_id: str, *, talk: int | None = None) -> Attempt:
    """A call of the last hour; `talk`: an operator took the caller for that many seconds."""
    entry = make_entry(session, campaign_id=campaign_id, state=EntryState.DONE)
    attempt = make_attempt(
        session,
        entry,
        started_at=NOW - timedelta(minutes=30),
        status=CallStatus.COMPLETED,
        outcome="human",
        ended_at=NOW - timedelta(minutes=25),
    )
    if talk is not None:
        make_key_press(session, attempt, action="agent", digits="1")
        attempt.queue_result, attempt.queue_time_seconds = "bridged", 10
        attempt.duration_seconds = 20 + 10 + talk
    return attempt


def is_full(session: Session, config: Config, campaign_id: str) -> bool:
    session.commit()
    outlook = read_outlook(session, config, now=NOW)
    full = outlook.is_full(config, config.campaign(campaign_id))
    session.commit()
    return full


def test_a_lone_operator_on_a_call_stops_the_dialling_until_they_are_free(
    session: Session,
) -> None:
    config = config_with({"sato": ["a"]}, "a")
    assert not is_full(session, config, "a")
    make_busy_operator(session, NOW, "sato", "a")
    assert is_full(session, config, "a")  # the next caller would wait a whole handle time


def test_calls_on_their_way_count_by_the_share_that_reaches_the_queue(session: Session) -> None:
    """Two free operators; with no history a call reaches the queue three times in ten."""
    config = config_with({"sato": ["a"], "suzuki": ["a"]}, "a")
    for _ in range(3):
        live_call(session, "a")
    assert not is_full(session, config, "a")  # 0.9 expected: both operators still free
    for _ in range(5):
        live_call(session, "a")
    assert is_full(session, config, "a")  # 2.4 expected callers for two operators


def test_a_campaign_whose_callers_seldom_ask_for_an_operator_dials_more(session: Session) -> None:
    config = config_with({"sato": ["a"], "suzuki": ["a"]}, "a")
    for _ in range(8):
        live_call(session, "a")
    assert is_full(session, config, "a")
    for _ in range(60):
        ended_call(session, "a")  # an hour of calls nobody took to the queue
    assert not is_full(session, config, "a")


def test_the_handle_time_is_learned_from_the_callers_operators_took(session: Session) -> None:
    config = config_with({"sato": ["a"]}, "a")
    for _ in range(27):
        ended_call(session, "a", talk=60)
    session.commit()
    traffic = read_outlook(session, config, now=NOW).traffic["a"]
    session.commit()
    assert traffic.handle_seconds == pytest.approx((27 * 80 + 3 * DEFAULT_HANDLE) / 30)


def test_a_caller_waiting_in_a_queue_holds_back_every_campaign_of_its_operator(
    session: Session,
) -> None:
    config = config_with({"sato": ["a", "b"], "suzuki": ["b"]}, "a", "b")
    live_call(session, "b", asked=True)
    live_call(session, "b", asked=True)
    assert is_full(session, config, "a")  # sato may be taken by b's callers
