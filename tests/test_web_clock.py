"""The web app reads "now" from the clock it was built with (the demo's simulated afternoon),
never from the system time behind its back."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient

from dialer.settings import Settings
from tests.conftest import Accounts
from web import create_app

SIMULATED = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)  # 14:30 in Tokyo


def _logged_in(client: FlaskClient, accounts: Accounts) -> FlaskClient:
    with client.session_transaction() as browser:
        browser["_user_id"] = str(accounts.supervisor.id)
        browser["_fresh"] = True
    return client


def test_the_api_answers_at_the_apps_clock(
    dashboard_settings: Settings, accounts: Accounts
) -> None:
    app = create_app(dashboard_settings, {"TESTING": True}, clock=lambda: SIMULATED)
    client = _logged_in(app.test_client(), accounts)
    payload = client.get("/api/overview").get_json()
    assert payload["generated_at"] == "2026-12-01T14:30:00+09:00"


def test_without_a_clock_the_app_reads_the_system_time(
    dashboard_settings: Settings, accounts: Accounts
) -> None:
    app = create_app(dashboard_settings, {"TESTING": True})
    client = _logged_in(app.test_client(), accounts)
    generated = datetime.fromisoformat(client.get("/api/overview").get_json()["generated_at"])
    assert abs((generated - datetime.now(UTC)).total_seconds()) < 60
