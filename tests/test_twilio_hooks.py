"""The /twilio/status and /twilio/amd webhooks: signed over the public URL or refused with
nothing stored; stored, then applied; a failure while applying keeps the event for replay."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dialer import callbacks
from dialer.callbacks import apply_pending_events
from dialer.log import FIELDS_ATTRIBUTE
from dialer.models import Attempt, CallEvent, CallStatus, EntryState
from dialer.settings import Settings
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TEST_AUTH_TOKEN, TwilioWebhooks
from tests.factories import callback_params, make_attempt, make_config, make_entry
from tests.logs import logged
from web import create_app
from web.database import database
from web.twilio_auth import public_url

STATUS = "/twilio/status"
AMD = "/twilio/amd"


@pytest.fixture
def attempt(session: Session) -> Attempt:
    """A call just placed: its entry is in progress, Twilio has queued it."""
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=CallStatus.QUEUED)
    session.commit()
    return attempt


def stored_events(session: Session) -> list[CallEvent]:
    session.commit()
    events = list(session.scalars(sa.select(CallEvent).order_by(CallEvent.id)))
    session.commit()
    return events


def reloaded(session: Session, attempt: Attempt) -> Attempt:
    """The attempt as the database has it now (the app wrote it through its own session)."""
    session.commit()
    session.refresh(attempt)
    session.refresh(attempt.entry)
    session.commit()
    return attempt


# --- the signature ------------------------------------------------------------------------------


def test_a_signed_status_callback_is_stored_and_applied(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    response = twilio.post(STATUS, callback_params(attempt, "ringing", 1))
    assert response.status_code == 204
    [event] = stored_events(session)
    assert (event.kind, event.attempt_id) == ("status", attempt.id)
    assert event.applied_at is not None
    assert reloaded(session, attempt).status is CallStatus.RINGING


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "forged"],
    ids=["missing", "empty", "wrong", "garbage"],
)
def test_a_missing_or_forged_signature_is_refused_and_nothing_is_stored(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt, signature: str | None
) -> None:
    params = callback_params(attempt, "completed", 3)
    response = twilio.post(STATUS, params, signature=signature, signed=False)
    assert response.status_code == 403
    assert stored_events(session) == []
    assert reloaded(session, attempt).status is CallStatus.QUEUED
    assert attempt.entry.state is EntryState.IN_PROGRESS


def test_a_signature_over_other_fields_is_refused(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    signature = twilio.signature(STATUS, callback_params(attempt, "no-answer", 3))
    response = twilio.post(STATUS, callback_params(attempt, "completed", 3), signature=signature)
    assert response.status_code == 403
    assert stored_events(session) == []


def test_a_signature_over_the_internal_url_is_refused(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    params = callback_params(attempt, "completed", 3)
    internal = twilio.signature(STATUS, params, base_url="http://localhost")
    response = twilio.post(STATUS, params, signature=internal)
    assert response.status_code == 403
    assert stored_events(session) == []
    assert reloaded(session, attempt).status is CallStatus.QUEUED


def test_a_signature_over_the_url_with_its_default_port_is_accepted(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    """Twilio sometimes signs https://host:443/…; the SDK's check, behind the one-HMAC fast
    path, still accepts it."""
    params = callback_params(attempt, "ringing", 1)
    with_port = twilio.signature(STATUS, params, base_url=f"{PUBLIC_BASE_URL}:443")
    assert with_port != twilio.signature(STATUS, params)
    response = twilio.post(STATUS, params, signature=with_port)
    assert response.status_code == 204
    assert reloaded(session, attempt).status is CallStatus.RINGING


def test_the_query_string_is_part_of_the_signed_url(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    params = callback_params(attempt, "ringing", 1)
    signed_for_other = twilio.signature(f"{STATUS}?attempt={attempt.id + 1}", params)
    refused = twilio.post(f"{STATUS}?attempt={attempt.id}", params, signature=signed_for_other)
    assert refused.status_code == 403
    accepted = twilio.post(f"{STATUS}?attempt={attempt.id}", params)
    assert accepted.status_code == 204


def test_a_get_request_is_not_a_webhook(twilio: TwilioWebhooks) -> None:
    assert twilio.client.get(STATUS).status_code in (403, 405)


@pytest.mark.parametrize(
    "missing",
    ["twilio_auth_token", "public_base_url"],
)
def test_without_a_token_or_a_public_url_every_webhook_is_refused_and_logged_once(
    app_settings: Settings,
    session: Session,
    attempt: Attempt,
    missing: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(**{**vars(app_settings), missing: None})
    app = create_app(settings, {"TESTING": True})
    try:
        webhooks = TwilioWebhooks(app.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)
        with caplog.at_level(logging.ERROR, logger="web.twilio_auth"):
            for _ in range(2):
                response = webhooks.post(STATUS, callback_params(attempt, "completed", 3))
                assert response.status_code == 403
    finally:
        database(app).engine.dispose()
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == ["twilio_webhooks_refused"]
    assert missing.upper() in getattr(errors[0], FIELDS_ATTRIBUTE)["reason"]
    assert TWILIO_TEST_AUTH_TOKEN not in caplog.text
    assert stored_events(session) == []


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        (
            "https://dialer.example.jp",
            "/twilio/status",
            b"",
            "https://dialer.example.jp/twilio/status",
        ),
        ("https://dialer.example.jp/", "/twilio/amd", b"", "https://dialer.example.jp/twilio/amd"),
        (
            "https://example.jp/dialer",
            "/twilio/status",
            b"attempt=12&x=%E3%81%82",
            "https://example.jp/dialer/twilio/status?attempt=12&x=%E3%81%82",
        ),
    ],
    ids=["plain", "trailing-slash", "prefix-and-query"],
)
def test_the_public_url_is_the_public_base_then_path_and_query(
    base: str, path: str, query: bytes, expected: str
) -> None:
    assert public_url(base, path, query) == expected


# --- callbacks through the web ------------------------------------------------------------------


def test_out_of_order_and_duplicated_callbacks_end_in_the_final_state(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    deliveries = [
        callback_params(attempt, "completed", 3, CallDuration="61"),
        callback_params(attempt, "ringing", 1),
        callback_params(attempt, "completed", 3, CallDuration="61"),
        callback_params(attempt, "in-progress", 2),
        callback_params(attempt, "initiated", 0),
    ]
    for params in deliveries:
        assert twilio.post(STATUS, params).status_code == 204
    attempt = reloaded(session, attempt)
    assert (attempt.status, attempt.outcome, attempt.duration_seconds) == (
        CallStatus.COMPLETED,
        "human",
        61,
    )
    assert (attempt.entry.state, attempt.entry.closed_reason) == (EntryState.DONE, "reached")
    events = stored_events(session)
    assert len(events) == len(deliveries)
    assert all(event.applied_at is not None for event in events)


@pytest.mark.parametrize(
    "answered_by",
    ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"],
)
def test_the_amd_webhook_makes_the_call_a_machine(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt, answered_by: str
) -> None:
    amd = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": attempt.call_sid or "",
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "1830",
    }
    assert twilio.post(AMD, amd).status_code == 204
    assert twilio.post(STATUS, callback_params(attempt, "completed", 3)).status_code == 204
    attempt = reloaded(session, attempt)
    assert (attempt.answered_by, attempt.outcome) == (answered_by, "machine")
    assert attempt.entry.state is EntryState.PENDING
    assert [event.kind for event in stored_events(session)] == ["amd", "status"]


def test_japanese_text_is_signed_and_stored_as_received(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    params = callback_params(attempt, "ringing", 1, CallerName="みどり通販　お客様窓口")
    assert twilio.post(STATUS, params).status_code == 204
    [event] = stored_events(session)
    assert event.payload == params


def test_a_failure_while_applying_answers_500_and_keeps_the_event_for_replay(
    twilio: TwilioWebhooks,
    app: Flask,
    session: Session,
    attempt: Attempt,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(callbacks, "apply_status", broken)
    response = twilio.post(STATUS, callback_params(attempt, "busy", 2))
    assert response.status_code == 500
    [event] = stored_events(session)
    assert event.applied_at is None
    assert reloaded(session, attempt).status is CallStatus.QUEUED

    monkeypatch.undo()
    replay = apply_pending_events(session, make_config(), now=datetime.now(UTC))
    assert (replay.applied, replay.failed) == (1, 0)
    attempt = reloaded(session, attempt)
    assert (attempt.status, attempt.entry.state) == (CallStatus.BUSY, EntryState.PENDING)


@pytest.fixture
def broken_campaigns(campaigns_path: Path) -> Path:
    """A campaigns file that does not validate, written before the app starts."""
    campaigns_path.write_text("company: [not, a, mapping]\n", encoding="utf-8")
    return campaigns_path


def test_a_campaigns_file_that_never_validated_answers_500_and_keeps_the_event(
    broken_campaigns: Path, twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    response = twilio.post(STATUS, callback_params(attempt, "completed", 3))
    assert response.status_code == 500
    [event] = stored_events(session)
    assert event.applied_at is None


def test_the_last_good_campaigns_file_stays_in_force_after_a_bad_edit(
    twilio: TwilioWebhooks, campaigns_path: Path, session: Session, attempt: Attempt
) -> None:
    assert twilio.post(STATUS, callback_params(attempt, "ringing", 1)).status_code == 204
    campaigns_path.write_text("company: [not, a, mapping]\n", encoding="utf-8")
    assert twilio.post(STATUS, callback_params(attempt, "busy", 2)).status_code == 204
    assert reloaded(session, attempt).entry.state is EntryState.PENDING


def test_a_refused_signature_is_logged_with_the_request(
    twilio: TwilioWebhooks, attempt: Attempt, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="web.twilio_auth"):
        twilio.post(STATUS, callback_params(attempt, "ringing", 1), signature="forged")
    assert logged(caplog, "twilio_signature_invalid", logging.WARNING) == [
        {"method": "POST", "path": STATUS}
    ]


def test_a_bad_edit_of_the_campaigns_file_is_logged_once_with_its_problems(
    twilio: TwilioWebhooks, campaigns_path: Path, attempt: Attempt, caplog: pytest.LogCaptureFixture
) -> None:
    assert twilio.post(STATUS, callback_params(attempt, "ringing", 1)).status_code == 204
    campaigns_path.write_text("company: [not, a, mapping]\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="web.campaign_config"):
        for status, sequence in (("in-progress", 2), ("busy", 3)):
            assert (
                twilio.post(STATUS, callback_params(attempt, status, sequence)).status_code == 204
            )
    refused = logged(caplog, "config_refused", logging.WARNING)
    problems = logged(caplog, "config_problem", logging.WARNING)
    assert refused == [{"path": str(campaigns_path), "problems": len(problems)}]
    assert problems and all(problem["problem"] for problem in problems)
