"""The web app reads "now" from the clock it was built with (the demo's simulated afternoon),
never from the system time behind its back."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from dialer.settings import Settings
from tests.conftest import Accounts
from tests.factories import make_busy_operator
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


def test_a_campaign_held_back_by_its_hold_queue_says_so_on_the_overview(
    dashboard_settings: Settings, accounts: Accounts, session: Session
) -> None:
    """Open at 14:30 on a Tuesday, but its one operator is on a call: the next caller would
    wait the default handle time, 3 minutes, so the campaign waits and the overview says why."""
    make_busy_operator(session, SIMULATED)
    session.commit()
    app = create_app(dashboard_settings, {"TESTING": True}, clock=lambda: SIMULATED)
    client = _logged_in(app.test_client(), accounts)

    [campaign] = client.get("/api/overview").get_json()["campaigns"]
    page = client.get("/overview").text

    assert (campaign["state"], campaign["held_back_by_queue"]) == ("dialling", True)
    assert campaign["expected_queue_wait_seconds"] == 180
    assert campaign["display"]["reason"] == "発信を控えています（次のお客様の見込み待ち時間 3:00）"
    assert "次のお客様の見込み待ち時間 3:00" in page
