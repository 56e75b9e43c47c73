"""Connecting operators: who is called for the callers waiting in the hold queues, and when not.

Twilio's Calls API is mocked at the HTTP layer (`fake_twilio`) behind the real provider, so the
form fields asserted are the ones Twilio would receive.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session, sessionmaker

from dialer.campaigns import Config, parse_config
from dialer.models import Attempt, CallStatus, EntryState, OperatorCall
from dialer.operator_availability import REJECTED_COOLDOWN
from dialer.operator_bridge import (
    RING_TIMEOUT,
    ConnectResult,
    connect_operators,
    waiting_callers,
)
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from tests.conftest import DISPATCH_NOW, PUBLIC_BASE_URL, FakeTwilio
from tests.factories import (
    dispatch_campaign,
    dispatch_config_yaml,
    make_attempt,
    make_entry,
    make_key_press,
)

CALLER_ID = "+81312345678"
SATO, SUZUKI, TAKAHASHI = "+81311112222", "+81311113333", "+81311114444"
NOW = DISPATCH_NOW


def operators_config(*operators: dict[str, Any]) -> Config:
    """Two campaigns, `first` (priority 90) and `second` (50), whose queues `operators` serve
    (a campaign nobody serves is agentless)."""
    served = {queue for op in operators for queue in op["queues"]}
    campaigns = [
        dispatch_campaign(
            campaign_id,
            priority=priority,
            mode="ivr-then-agent" if campaign_id in served else "agentless",
        )
        for campaign_id, priority in (("first", 90), ("second", 50))
    ]
    document = yaml.safe_load(dispatch_config_yaml(*campaigns))
    document["operators"] = list(operators)
    return parse_config(yaml.safe_dump(document, allow_unicode=True).encode(), "campaigns.yaml")


def operator(operator_id: str, name: str, phone: str, *queues: str) -> dict[str, Any]:
    return {"id": operator_id, "name": name, "phone": phone, "queues": list(queues)}


SATO_FIRST = operator("sato", "佐藤", SATO, "first")
SUZUKI_SECOND = operator("suzuki", "鈴木", SUZUKI, "second")
TAKAHASHI_BOTH = operator("takahashi", "高橋", TAKAHASHI, "first", "second")


def waiting_caller(session: Session, campaign_id: str = "first", **changes: Any) -> Attempt:
    """A caller on the line who pressed the agent key and has no queue result yet."""
    entry = make_entry(session, campaign_id=campaign_id, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(
        session, entry, started_at=NOW - timedelta(minutes=1), status=CallStatus.IN_PROGRESS
    )
    make_key_press(session, attempt, action="agent", digits="1")
    for name, value in changes.items():
        setattr(attempt, name, value)
    session.commit()
    return attempt


def connect(
    sessions: sessionmaker[Session],
    config: Config,
    provider: TwilioProvider,
    settings: Settings,
    *,
    minutes: float = 0,
) -> ConnectResult:
    return connect_operators(
        sessions, config, provider, settings, now=NOW + timedelta(minutes=minutes)
    )


def operator_calls(session: Session) -> list[OperatorCall]:
    session.expire_all()
    return list(session.scalars(sa.select(OperatorCall).order_by(OperatorCall.id)))


@pytest.fixture
def run(
    sessions: sessionmaker[Session], provider: TwilioProvider, dialer_settings: Settings
) -> Any:
    def go(config: Config, *, minutes: float = 0) -> ConnectResult:
        return connect(sessions, config, provider, dialer_settings, minutes=minutes)

    return go


def test_a_waiting_caller_gets_a_free_operator_of_the_queue_with_the_expected_fields(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    config = operators_config(SUZUKI_SECOND, SATO_FIRST)

    result = run(config)

    assert result.placed == 1
    [row] = operator_calls(session)
    assert (row.operator_id, row.campaign_id, row.attempt_id) == ("sato", "first", None)
    assert row.call_sid == fake_twilio.calls[0].sid
    assert row.status is CallStatus.QUEUED and row.started_at == NOW and row.ended_at is None
    assert fake_twilio.creates == [
        {
            "To": [SATO],
            "From": [CALLER_ID],
            "Url": [f"{PUBLIC_BASE_URL}/twilio/operator/{row.id}"],
            "Method": ["POST"],
            "StatusCallback": [f"{PUBLIC_BASE_URL}/twilio/operator-status/{row.id}"],
            "StatusCallbackMethod": ["POST"],
            "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
            "Timeout": [str(RING_TIMEOUT)],
        }
    ]


def test_the_row_is_committed_before_the_call_is_placed(
    session: Session, fake_twilio: FakeTwilio, run: Any, sessions: sessionmaker[Session]
) -> None:
    waiting_caller(session)
    seen: list[tuple[str, str | None]] = []

    def look(_form: dict[str, list[str]]) -> None:
        with sessions() as other:
            row = other.scalars(sa.select(OperatorCall)).one()
            seen.append((row.operator_id, row.call_sid))

    fake_twilio.on_create = look
    run(operators_config(SATO_FIRST))

    assert seen == [("sato", None)]


def test_nobody_is_called_when_nobody_waits(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    entry = make_entry(session, campaign_id="first", state=EntryState.IN_PROGRESS)
    make_attempt(session, entry, started_at=NOW, status=CallStatus.IN_PROGRESS)  # no agent key
    waiting_caller(session, queue_result="bridged")  # already left the queue
    waiting_caller(session, status=CallStatus.COMPLETED, ended_at=NOW)  # hung up
    session.commit()

    result = run(operators_config(SATO_FIRST, TAKAHASHI_BOTH))

    assert result == ConnectResult()
    assert fake_twilio.creates == [] and operator_calls(session) == []


def test_one_operator_is_never_called_twice_even_when_serving_two_queues(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    waiting_caller(session, "first")
    waiting_caller(session, "second")
    config = operators_config(TAKAHASHI_BOTH, SUZUKI_SECOND)

    run(config)
    run(config, minutes=0.5)

    rows = operator_calls(session)
    assert sorted((row.operator_id, row.campaign_id) for row in rows) == [
        ("suzuki", "second"),
        ("takahashi", "first"),  # the higher priority queue takes the shared operator
    ]
    assert sorted(fake_twilio.dialled()) == [SUZUKI, TAKAHASHI]


def test_a_caller_already_served_by_a_ringing_operator_call_gets_no_second_one(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    config = operators_config(SATO_FIRST, TAKAHASHI_BOTH)

    run(config)
    second = run(config, minutes=0.2)

    assert second.placed == 0
    assert len(fake_twilio.creates) == 1


def test_a_bridged_caller_is_not_waiting_any_more(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    attempt = waiting_caller(session, "first")
    config = operators_config(SATO_FIRST, TAKAHASHI_BOTH)
    run(config)
    [row] = operator_calls(session)
    row.attempt_id, row.status = attempt.id, CallStatus.IN_PROGRESS
    session.commit()

    waiting = waiting_callers(session, now=NOW)
    session.rollback()  # SQLite: a read holds the write lock until the transaction ends

    assert waiting == {}
    assert run(config, minutes=1).placed == 0


def test_the_longest_idle_operator_is_called_first(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    session.add(
        OperatorCall(
            operator_id="sato",
            campaign_id="first",
            call_sid="CA" + "1" * 32,
            status=CallStatus.COMPLETED,
            started_at=NOW - timedelta(minutes=10),
            ended_at=NOW - timedelta(minutes=5),
        )
    )
    waiting_caller(session, "first")

    run(operators_config(SATO_FIRST, TAKAHASHI_BOTH))

    assert fake_twilio.dialled() == [TAKAHASHI]


def test_an_operator_whose_call_ended_busy_is_free_at_once(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    config = operators_config(SATO_FIRST)
    run(config)
    [row] = operator_calls(session)
    row.status, row.ended_at = CallStatus.BUSY, NOW + timedelta(seconds=5)
    session.commit()

    assert run(config, minutes=0.1).placed == 1
    assert fake_twilio.dialled() == [SATO, SATO]


def test_a_failed_place_frees_the_operator(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    config = operators_config(SATO_FIRST)
    fake_twilio.fail_next(status=500, code=20500)  # not created: nothing to adopt

    failed = run(config)
    again = run(config, minutes=0.1)

    assert (failed.placed, failed.failed, again.placed) == (0, 1, 1)
    first, second = operator_calls(session)
    assert first.status is CallStatus.FAILED and first.ended_at == NOW
    assert first.call_sid is None
    assert second.operator_id == "sato" and second.call_sid is not None


def test_an_ambiguous_create_adopts_the_call_it_made(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    fake_twilio.drop_next(created=True)

    result = run(operators_config(SATO_FIRST))

    assert result.placed == 1
    [row] = operator_calls(session)
    assert row.call_sid == fake_twilio.calls[0].sid and row.ended_at is None


def test_a_refused_number_leaves_that_operator_alone_for_a_while(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    waiting_caller(session, "first")
    config = operators_config(SATO_FIRST, TAKAHASHI_BOTH)
    fake_twilio.fail_next(status=400, code=21211)  # invalid 'To': the first call (sato)

    run(config)
    later = run(config, minutes=1)
    after_cooldown = run(config, minutes=REJECTED_COOLDOWN.total_seconds() / 60 + 1)

    refused = operator_calls(session)[0]
    assert (refused.operator_id, refused.status, refused.error_code) == (
        "sato",
        CallStatus.FAILED,
        21211,
    )
    assert fake_twilio.dialled()[:2] == [SATO, TAKAHASHI]
    assert later.placed == 0  # takahashi is ringing; sato rests
    assert after_cooldown.placed >= 1 and SATO in fake_twilio.dialled()[2:]


def test_a_rate_limit_stops_the_run_and_cancels_the_rest(
    session: Session, fake_twilio: FakeTwilio, run: Any
) -> None:
    waiting_caller(session, "first")
    waiting_caller(session, "second")
    fake_twilio.fail_next(status=429, code=20429)

    result = run(operators_config(SATO_FIRST, SUZUKI_SECOND))

    assert result.stopped == "RateLimitError" and result.placed == 0
    assert len(fake_twilio.creates) == 1
    rows = operator_calls(session)
    assert [row.status for row in rows] == [CallStatus.FAILED, CallStatus.CANCELED]
    assert all(row.ended_at is not None for row in rows)
