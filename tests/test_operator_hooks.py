"""The operator calls' webhooks: golden TwiML (parsed), the bridge recorded, status callbacks
applied once and forward only, and Twilio's signature required on every route."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dialer.models import Attempt, CallEvent, CallStatus, EntryState, OperatorCall
from dialer.operator_bridge import DIAL_TIMEOUT, SAY_NOBODY, STATUS_EVENT
from dialer.settings import Settings
from tests.conftest import (
    DISPATCH_NOW,
    PUBLIC_BASE_URL,
    TWILIO_TEST_AUTH_TOKEN,
    TwilioWebhooks,
)
from tests.factories import CAMPAIGN_ID, make_attempt, make_entry
from tests.logs import logged
from tests.twiml import assert_japanese_voice, says, twiml
from web import create_app
from web.database import database

VOICE = "Polly.Mizuki"  # the default voice: `factories.config_yaml` names none
OPERATOR_SID = "CA" + "0" * 31 + "9"


@pytest.fixture
def operator_call(session: Session) -> OperatorCall:
    """A call placed to sato (`factories.config_yaml`) for the f2-followup queue."""
    row = OperatorCall(
        operator_id="sato",
        campaign_id=CAMPAIGN_ID,
        call_sid=OPERATOR_SID,
        status=CallStatus.QUEUED,
        started_at=DISPATCH_NOW,
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def caller(session: Session) -> Attempt:
    """A caller waiting in the f2-followup queue."""
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, started_at=DISPATCH_NOW, status=CallStatus.IN_PROGRESS)
    session.commit()
    return attempt


def reloaded(session: Session, row: OperatorCall) -> OperatorCall:
    """The row as stored now; the read transaction ends (on SQLite it holds the write lock)."""
    session.expire_all()
    stored = session.get_one(OperatorCall, row.id)
    session.commit()
    return stored


def test_the_operator_leg_says_whose_customer_then_dials_the_campaigns_queue(
    twilio: TwilioWebhooks, operator_call: OperatorCall
) -> None:
    root = twiml(twilio.post(f"/twilio/operator/{operator_call.id}", {"CallSid": OPERATOR_SID}))

    assert [child.tag for child in root] == ["Say", "Dial"]
    assert says(root) == ["2回目購入のご案内のお客様におつなぎします。"]
    assert_japanese_voice(root, VOICE)
    dial = root.find("Dial")
    assert dial is not None
    assert dial.attrib == {
        "action": f"{PUBLIC_BASE_URL}/twilio/operator-done/{operator_call.id}",
        "method": "POST",
        "timeout": str(DIAL_TIMEOUT),
    }
    [queue] = list(dial)
    assert queue.tag == "Queue" and queue.text == CAMPAIGN_ID
    assert queue.attrib == {
        "url": f"{PUBLIC_BASE_URL}/twilio/operator-bridged/{operator_call.id}",
        "method": "POST",
    }


def test_an_unknown_operator_call_is_hung_up(twilio: TwilioWebhooks) -> None:
    root = twiml(twilio.post("/twilio/operator/999", {"CallSid": OPERATOR_SID}))

    assert [child.tag for child in root] == ["Hangup"]


def test_the_bridge_records_the_operator_on_the_attempt_and_names_them(
    twilio: TwilioWebhooks, session: Session, operator_call: OperatorCall, caller: Attempt
) -> None:
    params = {
        "CallSid": caller.call_sid or "",
        "DequeingCallSid": OPERATOR_SID,
        "QueueSid": "QU" + "1" * 32,
        "QueueTime": "42",
    }
    path = f"/twilio/operator-bridged/{operator_call.id}"

    root = twiml(twilio.post(path, params))
    twiml(twilio.post(path, params))  # Twilio retrying changes nothing

    assert says(root) == ["担当の佐藤におつなぎします。"]
    assert_japanese_voice(root, VOICE)
    session.expire_all()
    assert session.get_one(Attempt, caller.id).operator_id == "sato"
    assert reloaded(session, operator_call).attempt_id == caller.id


def test_the_bridge_adopts_the_operators_call_sid_when_it_was_never_recorded(
    twilio: TwilioWebhooks, session: Session, operator_call: OperatorCall, caller: Attempt
) -> None:
    operator_call.call_sid = None
    session.commit()

    twilio.post(
        f"/twilio/operator-bridged/{operator_call.id}",
        {"CallSid": caller.call_sid or "", "DequeingCallSid": OPERATOR_SID},
    )

    assert reloaded(session, operator_call).call_sid == OPERATOR_SID


def test_the_end_of_a_dial_that_found_nobody_says_so_and_hangs_up(
    twilio: TwilioWebhooks, operator_call: OperatorCall
) -> None:
    root = twiml(
        twilio.post(
            f"/twilio/operator-done/{operator_call.id}",
            {"CallSid": OPERATOR_SID, "DialCallStatus": "no-answer"},
        )
    )

    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert says(root) == [SAY_NOBODY]
    assert_japanese_voice(root, VOICE)


def test_the_end_of_a_conversation_just_hangs_up(
    twilio: TwilioWebhooks, session: Session, operator_call: OperatorCall, caller: Attempt
) -> None:
    operator_call.attempt_id = caller.id
    session.commit()

    root = twiml(
        twilio.post(
            f"/twilio/operator-done/{operator_call.id}",
            {"CallSid": OPERATOR_SID, "DialCallStatus": "completed"},
        )
    )

    assert [child.tag for child in root] == ["Hangup"]


def status_params(status: str, sequence: int) -> dict[str, str]:
    return {"CallSid": OPERATOR_SID, "CallStatus": status, "SequenceNumber": str(sequence)}


def test_status_callbacks_move_forward_only_and_are_all_stored(
    twilio: TwilioWebhooks, session: Session, operator_call: OperatorCall
) -> None:
    path = f"/twilio/operator-status/{operator_call.id}"
    for status, sequence in (("ringing", 1), ("in-progress", 2), ("initiated", 0)):
        assert twilio.post(path, status_params(status, sequence)).status_code == 204
    assert reloaded(session, operator_call).status is CallStatus.IN_PROGRESS

    twilio.post(path, status_params("completed", 3))
    ended_at = reloaded(session, operator_call).ended_at
    twilio.post(path, status_params("completed", 3))  # a duplicate
    twilio.post(path, status_params("ringing", 1))  # a late one

    row = reloaded(session, operator_call)
    assert row.status is CallStatus.COMPLETED
    assert ended_at is not None and row.ended_at == ended_at
    kinds = session.scalars(sa.select(CallEvent.kind)).all()
    assert kinds == [STATUS_EVENT] * 6


def test_a_busy_operator_call_ends_at_once(
    twilio: TwilioWebhooks, session: Session, operator_call: OperatorCall
) -> None:
    twilio.post(f"/twilio/operator-status/{operator_call.id}", status_params("busy", 2))

    row = reloaded(session, operator_call)
    assert row.status is CallStatus.BUSY and row.ended_at is not None
    assert row.ended_at - DISPATCH_NOW > timedelta(0)


ROUTES = ("operator", "operator-bridged", "operator-done", "operator-status")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("forged", [True, False], ids=["forged", "missing"])
def test_a_forged_or_missing_signature_gets_403_and_changes_nothing(
    twilio: TwilioWebhooks,
    session: Session,
    operator_call: OperatorCall,
    caller: Attempt,
    route: str,
    forged: bool,
) -> None:
    params = {
        "CallSid": caller.call_sid or "",
        "DequeingCallSid": OPERATOR_SID,
        "CallStatus": "completed",
        "DialCallStatus": "completed",
    }
    path = f"/twilio/{route}/{operator_call.id}"
    signature = twilio.signature(path, {**params, "CallStatus": "ringing"}) if forged else None

    response = twilio.post(path, params, signature=signature, signed=False)

    assert response.status_code == 403
    row = reloaded(session, operator_call)
    assert (row.status, row.ended_at, row.attempt_id) == (CallStatus.QUEUED, None, None)
    assert session.get_one(Attempt, caller.id).operator_id is None
    assert session.scalars(sa.select(CallEvent)).all() == []


@pytest.fixture
def guarded(dashboard_settings: Settings) -> Iterator[Flask]:
    """The app as it runs, with the dashboard's CSRF check on."""
    app = create_app(dashboard_settings, {"TESTING": True})
    yield app
    database(app).engine.dispose()


@pytest.mark.parametrize("route", ROUTES)
def test_the_operator_webhooks_need_no_csrf_token_nor_login(
    guarded: Flask, operator_call: OperatorCall, route: str
) -> None:
    webhooks = TwilioWebhooks(guarded.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)

    response = webhooks.post(
        f"/twilio/{route}/{operator_call.id}", {"CallSid": OPERATOR_SID, "CallStatus": "ringing"}
    )

    assert response.status_code in (200, 204)


def test_callbacks_for_an_unknown_operator_call_are_logged(
    twilio: TwilioWebhooks, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dialer.operator_bridge"):
        twilio.post("/twilio/operator-status/999", status_params("ringing", 1))
        twilio.post(
            "/twilio/operator-bridged/999",
            {"CallSid": "CA" + "1" * 32, "DequeingCallSid": OPERATOR_SID},
        )
    assert logged(caplog, "unknown_operator_call", logging.WARNING) == [
        {"operator_call_id": 999, "webhook": "status"},
        {"operator_call_id": 999, "webhook": "bridge"},
    ]
