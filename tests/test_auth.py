"""Logging in and out, CSRF, the session cookie, and the dashboard without a secret key."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from dialer.settings import Settings
from tests.conftest import Accounts, LoggedIn, TwilioWebhooks
from tests.factories import TEST_PASSWORD, make_attempt, make_user
from tests.logs import logged
from web import create_app
from web.database import database


def log_in(client: FlaskClient, username: str, password: str = TEST_PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": username, "password": password, **extra})


def test_login_page_answers_without_a_login(dashboard: Flask) -> None:
    response = dashboard.test_client().get("/login")
    assert response.status_code == 200
    assert "ログイン" in response.text


def test_login_with_the_right_password_opens_the_dashboard(
    dashboard: Flask, accounts: Accounts
) -> None:
    client = dashboard.test_client()
    response = log_in(client, "kanri")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/overview").status_code == 200


def test_login_goes_back_to_the_page_that_asked(dashboard: Flask, accounts: Accounts) -> None:
    client = dashboard.test_client()
    asked = client.get("/dnc?q=090")
    assert asked.headers["Location"] == "/login?next=/dnc?q%3D090"
    response = log_in(client, "sato", next="/dnc?q=090")
    assert response.headers["Location"] == "/dnc?q=090"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_login_never_redirects_off_the_site(
    dashboard: Flask, accounts: Accounts, target: str
) -> None:
    response = log_in(dashboard.test_client(), "kanri", next=target)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("username", "password"),
    [("kanri", "wrong password!"), ("nobody", TEST_PASSWORD), ("", "")],
    ids=["wrong-password", "unknown-user", "empty"],
)
def test_a_failed_login_says_so_and_logs_nobody_in(
    dashboard: Flask, accounts: Accounts, username: str, password: str
) -> None:
    client = dashboard.test_client()
    response = log_in(client, username, password)
    assert response.status_code == 401
    assert "ユーザー名またはパスワードが違います" in response.text
    assert client.get("/overview").status_code == 302


def test_a_deactivated_account_cannot_log_in(dashboard: Flask, session: Session) -> None:
    make_user(session, "taishoku", active=False)
    session.commit()
    assert log_in(dashboard.test_client(), "taishoku").status_code == 401


def test_a_deactivated_account_is_logged_out_at_its_next_request(
    logged_in: LoggedIn, accounts: Accounts, session: Session
) -> None:
    client = logged_in("supervisor")
    assert client.get("/overview").status_code == 200
    session.get_one(type(accounts.supervisor), accounts.supervisor.id).active = False
    session.commit()
    assert client.get("/overview").status_code == 302


def test_logout_ends_the_session(logged_in: LoggedIn) -> None:
    client = logged_in("operator")
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/calls").status_code == 302


# --- CSRF -------------------------------------------------------------------------------


@pytest.fixture
def guarded(dashboard_settings: Settings) -> Iterator[Flask]:
    """The dashboard as it runs: CSRF checked."""
    app = create_app(dashboard_settings, {"TESTING": True})
    yield app
    database(app).engine.dispose()


def csrf_token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_login_without_a_csrf_token_is_refused(guarded: Flask, accounts: Accounts) -> None:
    response = log_in(guarded.test_client(), "kanri")
    assert response.status_code == 400
    assert "フォームの有効期限が切れた" in response.text


def test_login_with_the_forms_csrf_token_works(guarded: Flask, accounts: Accounts) -> None:
    client = guarded.test_client()
    token = csrf_token(client, "/login")
    assert log_in(client, "kanri", csrf_token=token).status_code == 302


def test_pause_without_a_csrf_token_is_refused_and_changes_nothing(
    guarded: Flask, accounts: Accounts, session: Session
) -> None:
    client = guarded.test_client()
    log_in(client, "kanri", csrf_token=csrf_token(client, "/login"))
    assert client.post("/campaigns/f2-followup/pause").status_code == 400
    assert "一時停止中" not in client.get("/overview").text
    token = csrf_token(client, "/overview")
    response = client.post("/campaigns/f2-followup/pause", data={"csrf_token": token})
    assert response.status_code == 302


def test_twilio_webhooks_need_no_csrf_token(
    guarded: Flask, session: Session, dashboard_settings: Settings
) -> None:
    attempt = make_attempt(session)
    session.commit()
    webhooks = TwilioWebhooks(
        guarded.test_client(),
        dashboard_settings.twilio_auth_token or "",
        dashboard_settings.public_base_url or "",
    )
    response = webhooks.post(
        "/twilio/status", {"CallSid": attempt.call_sid or "", "CallStatus": "ringing"}
    )
    assert response.status_code == 204


# --- cookies and the secret key ---------------------------------------------------------


def session_cookie(response_headers: list[str]) -> str:
    return next(header for header in response_headers if header.startswith("dialer_session="))


def test_session_cookie_is_httponly_lax_and_secure_behind_https(
    dashboard: Flask, accounts: Accounts
) -> None:
    response = log_in(dashboard.test_client(), "kanri")
    cookie = session_cookie(response.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https in the tests


def test_session_cookie_is_not_secure_on_plain_http(
    dashboard_settings: Settings, accounts: Accounts
) -> None:
    settings = replace(dashboard_settings, public_base_url="http://127.0.0.1:8000")
    app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    try:
        response = log_in(app.test_client(), "kanri")
        assert "Secure" not in session_cookie(response.headers.getlist("Set-Cookie"))
    finally:
        database(app).engine.dispose()


def test_without_a_secret_key_the_dashboard_refuses_but_webhooks_and_health_work(
    app_settings: Settings, session: Session
) -> None:
    app = create_app(app_settings)
    try:
        client = app.test_client()
        for path in ("/login", "/overview", "/api/overview"):
            response = client.get(path)
            assert response.status_code == 503
            assert "SECRET_KEY" in response.text
        assert client.get("/healthz").status_code == 200
        attempt = make_attempt(session)
        session.commit()
        webhooks = TwilioWebhooks(
            client, app_settings.twilio_auth_token or "", app_settings.public_base_url or ""
        )
        params = {"CallSid": attempt.call_sid or "", "CallStatus": "ringing"}
        assert webhooks.post("/twilio/status", params).status_code == 204
    finally:
        database(app).engine.dispose()


# --- language ---------------------------------------------------------------------------


def test_english_on_request_and_japanese_by_default(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    assert "概要" in client.get("/overview").text
    response = client.post("/language", data={"lang": "en", "next": "/overview"})
    assert response.headers["Location"] == "/overview"
    page = client.get("/overview").text
    assert "Overview" in page
    assert "概要" not in page
    assert 'lang="en"' in page


def test_the_language_can_be_chosen_before_logging_in(dashboard: Flask, accounts: Accounts) -> None:
    client = dashboard.test_client()
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "User name" in client.get("/login").text
    log_in(client, "kanri")
    assert "Overview" in client.get("/overview").text  # kept across the login


def test_an_unknown_language_is_ignored(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    client.post("/language", data={"lang": "xx"})
    assert "概要" in client.get("/overview").text


def test_an_unknown_address_is_not_found_even_without_a_login(dashboard: Flask) -> None:
    assert dashboard.test_client().get("/no-such-page").status_code == 404


def test_without_a_secret_key_twilio_still_gets_bare_statuses(app_settings: Settings) -> None:
    app = create_app(app_settings)
    try:
        response = app.test_client().get("/twilio/status")
        assert response.status_code == 405
        assert response.data == b""
        assert app.test_client().get("/no-such-page").status_code == 404
    finally:
        database(app).engine.dispose()


def test_without_a_secret_key_the_refusal_is_logged_once(
    app_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(app_settings)
    try:
        client = app.test_client()
        with caplog.at_level(logging.ERROR, logger="web.security"):
            for path in ("/login", "/overview"):
                assert client.get(path).status_code == 503
    finally:
        database(app).engine.dispose()
    assert logged(caplog, "dashboard_disabled", logging.ERROR) == [{"missing": "SECRET_KEY"}]
