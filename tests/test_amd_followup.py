"""After an asynchronous machine verdict, the live call is acted on: a campaign that leaves a
message redirects the call to its voice URL once the beep is heard (the voice route then says
the message); one that hangs up on machines, and any fax, is hung up on. Twilio's REST API is
mocked with `responses` at its HTTP boundary; the callbacks are signed as Twilio signs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from flask import Flask
from sqlalchemy.orm import Session

from dialer.amd_followup import Followup, machine_followup
from dialer.models import Attempt, CallStatus
from dialer.settings import Settings
from tests.conftest import (
    PUBLIC_BASE_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_API_BASE_URL,
    TWILIO_TEST_AUTH_TOKEN,
    TwilioWebhooks,
)
from tests.factories import (
    CAMPAIGN_ID,
    dispatch_campaign,
    dispatch_config_yaml,
    make_attempt,
    make_dispatch_config,
    make_entry,
)
from web import create_app
from web.database import database

CALLS = f"{TWILIO_API_BASE_URL}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Calls"
VOICE = "https://dialer.example.jp/twilio/voice/7"
MESSAGE = make_dispatch_config(dispatch_campaign(leaves_message=True)).campaign(CAMPAIGN_ID)
HANGUP = make_dispatch_config(dispatch_campaign(leaves_message=False)).campaign(CAMPAIGN_ID)


def _attempt(answered_by: str | None, status: CallStatus = CallStatus.IN_PROGRESS) -> Attempt:
    return Attempt(call_sid="CA" + "1" * 32, answered_by=answered_by, status=status)


@pytest.mark.parametrize(
    "verdict", ["machine_end_beep", "machine_end_silence", "machine_end_other"]
)
def test_the_message_is_left_once_the_machine_greeting_is_over(verdict: str) -> None:
    followup = machine_followup(_attempt(verdict), MESSAGE, VOICE, verdict_before=None)
    assert followup == Followup("CA" + "1" * 32, VOICE)


@pytest.mark.parametrize("verdict", ["machine_start", "machine_end_beep", "fax"])
def test_a_campaign_that_hangs_up_on_machines_hangs_up(verdict: str) -> None:
    followup = machine_followup(_attempt(verdict), HANGUP, VOICE, verdict_before=None)
    assert followup == Followup("CA" + "1" * 32, None)


def test_a_fax_is_hung_up_on_even_where_a_message_would_be_left() -> None:
    assert machine_followup(_attempt("fax"), MESSAGE, VOICE, verdict_before=None) == Followup(
        "CA" + "1" * 32, None
    )


@pytest.mark.parametrize(
    ("attempt", "before"),
    [
        (_attempt("human"), None),
        (_attempt("unknown"), None),
        (_attempt("machine_end_beep"), "machine_end_beep"),  # a repeated callback
        (_attempt("machine_end_beep", CallStatus.COMPLETED), None),  # the call is over
        (_attempt("machine_start"), None),  # DetectMessageEnd: the beep is still to come
    ],
)
def test_nothing_is_done_otherwise(attempt: Attempt, before: str | None) -> None:
    assert machine_followup(attempt, MESSAGE, VOICE, verdict_before=before) is None


# --- through the webhook ----------------------------------------------------------------------


@pytest.fixture
def rest() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _app(database_url: str, tmp_path: Path, *, leaves_message: bool) -> Flask:
    path = tmp_path / "campaigns.yaml"
    path.write_text(
        dispatch_config_yaml(dispatch_campaign(leaves_message=leaves_message)), encoding="utf-8"
    )
    settings = Settings(
        database_url=database_url,
        campaigns_path=path,
        twilio_account_sid=TWILIO_ACCOUNT_SID,
        twilio_auth_token=TWILIO_TEST_AUTH_TOKEN,
        twilio_api_base_url=TWILIO_API_BASE_URL,
        public_base_url=PUBLIC_BASE_URL,
    )
    return create_app(settings, {"TESTING": True})


def _live_attempt(session: Session) -> Attempt:
    entry = make_entry(session, campaign_id=CAMPAIGN_ID)
    attempt = make_attempt(session, entry, status=CallStatus.IN_PROGRESS)
    session.commit()
    return attempt


def _amd(attempt: Attempt, answered_by: str) -> dict[str, str]:
    return {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "CallSid": attempt.call_sid or "",
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "4120",
    }


def _updated(rest: responses.RequestsMock, sid: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(str(call.request.body))
        for call in rest.calls
        if call.request.url == f"{CALLS}/{sid}.json"
    ]


def test_the_beep_redirects_the_live_call_to_its_message_once(
    session: Session, database_url: str, tmp_path: Path, rest: responses.RequestsMock
) -> None:
    attempt = _live_attempt(session)
    sid = attempt.call_sid or ""
    rest.add(responses.POST, f"{CALLS}/{sid}.json", json={"sid": sid, "status": "in-progress"})
    app = _app(database_url, tmp_path, leaves_message=True)
    twilio = TwilioWebhooks(app.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)
    path = f"/twilio/amd?attempt={attempt.id}"

    assert twilio.post(path, _amd(attempt, "machine_end_beep")).status_code == 204
    assert twilio.post(path, _amd(attempt, "machine_end_beep")).status_code == 204  # again

    voice = f"{PUBLIC_BASE_URL}/twilio/voice/{attempt.id}"
    assert _updated(rest, sid) == [{"Url": [voice], "Method": ["POST"]}]
    database(app).engine.dispose()


def test_a_machine_is_hung_up_on_and_a_person_is_left_alone(
    session: Session, database_url: str, tmp_path: Path, rest: responses.RequestsMock
) -> None:
    machine, person = _live_attempt(session), _live_attempt(session)
    for attempt in (machine, person):
        sid = attempt.call_sid or ""
        rest.add(responses.POST, f"{CALLS}/{sid}.json", json={"sid": sid, "status": "completed"})
    app = _app(database_url, tmp_path, leaves_message=False)
    twilio = TwilioWebhooks(app.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)

    twilio.post(f"/twilio/amd?attempt={machine.id}", _amd(machine, "machine_start"))
    twilio.post(f"/twilio/amd?attempt={person.id}", _amd(person, "human"))

    assert _updated(rest, machine.call_sid or "") == [{"Status": ["completed"]}]
    assert _updated(rest, person.call_sid or "") == []
    database(app).engine.dispose()


def test_a_forged_verdict_changes_nothing_and_calls_nobody(
    session: Session, database_url: str, tmp_path: Path, rest: responses.RequestsMock
) -> None:
    attempt = _live_attempt(session)
    app = _app(database_url, tmp_path, leaves_message=False)
    twilio = TwilioWebhooks(app.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)

    response = twilio.post(
        f"/twilio/amd?attempt={attempt.id}", _amd(attempt, "machine_start"), signature="forged"
    )

    assert response.status_code == 403
    assert len(rest.calls) == 0
    session.refresh(attempt)
    assert attempt.answered_by is None
    database(app).engine.dispose()


def test_a_failed_hang_up_is_logged_and_the_callback_still_succeeds(
    session: Session, database_url: str, tmp_path: Path, rest: responses.RequestsMock
) -> None:
    attempt = _live_attempt(session)
    sid = attempt.call_sid or ""
    rest.add(
        responses.POST,
        f"{CALLS}/{sid}.json",
        status=400,
        json={"code": 21220, "message": "Call is not in-progress. Cannot redirect.", "status": 400},
    )
    app = _app(database_url, tmp_path, leaves_message=False)
    twilio = TwilioWebhooks(app.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)

    response = twilio.post(f"/twilio/amd?attempt={attempt.id}", _amd(attempt, "machine_start"))

    assert response.status_code == 204
    session.refresh(attempt)
    assert attempt.answered_by == "machine_start"
    database(app).engine.dispose()
