"""Twilio's webhooks get no cookie session, even when the dashboard's secret key is set; the
dashboard keeps its signed session."""

from __future__ import annotations

from flask import Flask
from flask import session as cookie_session
from flask.sessions import NullSession
from sqlalchemy.orm import Session

from dialer.models import CallStatus, EntryState
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TEST_AUTH_TOKEN, TwilioWebhooks
from tests.factories import callback_params, make_attempt, make_entry


def test_a_webhook_request_opens_no_cookie_session(dashboard: Flask) -> None:
    with dashboard.test_request_context("/twilio/status", method="POST"):
        assert isinstance(cookie_session, NullSession)


def test_a_dashboard_request_still_has_its_signed_session(dashboard: Flask) -> None:
    with dashboard.test_request_context("/"):
        assert not isinstance(cookie_session, NullSession)
        cookie_session["lang"] = "en"
        assert cookie_session.modified


def test_a_signed_callback_is_applied_and_answered_without_a_cookie(
    dashboard: Flask, session: Session
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=CallStatus.QUEUED)
    session.commit()
    twilio = TwilioWebhooks(dashboard.test_client(), TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)
    response = twilio.post("/twilio/status", callback_params(attempt, "ringing", 1))
    assert response.status_code == 204
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    session.refresh(attempt)
    assert attempt.status is CallStatus.RINGING
