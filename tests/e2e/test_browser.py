"""The dashboard in a real browser: log in, watch a callback reach the overview, pause a
campaign, open a customer and add a note; screenshots of every main page on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from twilio.request_validator import RequestValidator

from dialer.campaign_control import is_paused
from dialer.models import CallStatus, EntryState
from tests.e2e.conftest import AUTH_TOKEN, LiveApp, log_in
from tests.e2e.seed import FEATURED, SURVEY_CAMPAIGN
from tests.factories import callback_params, make_attempt, make_customer, make_entry

Shot = Callable[[Any, str], Path]


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def ring(live: LiveApp, campaign: str = "f2-followup") -> tuple[int, dict[str, str]]:
    """A call ringing now, as the dispatcher leaves it; returns its id and the callback that
    will end it (answered by a person, 95 seconds)."""
    with live.sessions() as session:
        customer = make_customer(session, external_id="C-RING", name="呼出 中子")
        entry = make_entry(session, customer, campaign_id=campaign, state=EntryState.IN_PROGRESS)
        attempt = make_attempt(
            session, entry, started_at=datetime.now(UTC), status=CallStatus.RINGING
        )
        session.commit()
        params = callback_params(
            attempt, CallStatus.COMPLETED, 3, AnsweredBy="human", CallDuration="95"
        )
        return attempt.id, params


def post_callback(live: LiveApp, attempt_id: int, params: dict[str, str]) -> None:
    """Twilio's status callback, signed as Twilio signs it, over real HTTP."""
    path = f"/twilio/status?attempt={attempt_id}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(live.url + path, params)
    response = requests.post(
        live.url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
    )
    assert response.status_code == 204


def test_login_page(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    page.goto(f"{live_app.url}/overview")
    assert page.url.startswith(f"{live_app.url}/login")
    expect()(page.locator("h1")).to_have_text("発信モニター")
    screenshot(page, "01-login")


def test_the_overview_follows_a_callback_without_a_reload(
    page: Any, live_app: LiveApp, screenshot: Shot
) -> None:
    log_in(page, live_app.url, "kanri")
    assert page.url == f"{live_app.url}/overview"
    row = page.locator('tr[data-campaign="f2-followup"]')
    in_progress = row.locator('[data-field="in_progress"]')
    before = int(in_progress.inner_text())
    page.evaluate("window.__same_page = true")

    attempt_id, params = ring(live_app)
    expect()(in_progress).to_have_text(str(before + 1))
    humans_before = page.request.get(f"{live_app.url}/api/overview").json()
    f2 = next(c for c in humans_before["campaigns"] if c["id"] == "f2-followup")

    post_callback(live_app, attempt_id, params)
    expect()(in_progress).to_have_text(str(before))
    after = page.request.get(f"{live_app.url}/api/overview").json()
    f2_after = next(c for c in after["campaigns"] if c["id"] == "f2-followup")
    assert f2_after["human_answered_today"] == f2["human_answered_today"] + 1
    expect()(row.locator('[data-field="contact_rate"]')).to_have_text(
        f2_after["display"]["contact_rate"]
    )
    assert page.evaluate("window.__same_page") is True  # updated in place, never reloaded
    screenshot(page, "02-overview")


def test_a_refused_edit_of_campaigns_yaml_reaches_an_open_overview(
    page: Any, live_app: LiveApp
) -> None:
    """A wallboard left open learns of a bad edit, and of its fix, without anyone reloading."""
    log_in(page, live_app.url, "kanri")
    warning = page.locator(".alert-warning")
    expect()(warning).to_have_count(0)
    campaigns = live_app.settings.campaigns_path
    good = campaigns.read_text(encoding="utf-8")

    campaigns.write_text("company: [broken", encoding="utf-8")
    expect()(warning).to_contain_text("campaigns.yaml の最新の変更は読み込めませんでした")

    campaigns.write_text(good + "\n", encoding="utf-8")
    expect()(warning).to_have_count(0)


def test_pausing_a_campaign(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "kanri")
    row = page.locator('tr[data-campaign="dormant-reactivation"]')
    row.get_by_role("button", name="一時停止").click()
    page.wait_for_load_state("networkidle")
    expect()(page.locator(".flash")).to_contain_text("一時停止しました")
    expect()(row).to_have_attribute("data-state", "paused")
    expect()(row.get_by_role("button", name="再開")).to_be_visible()
    with live_app.sessions() as session:
        assert is_paused(session, "dormant-reactivation")
    screenshot(page, "03-overview-paused")


def test_customer_page_and_a_note(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "kanri")
    page.goto(f"{live_app.url}/calls")
    screenshot(page, "04-call-log")
    page.goto(f"{live_app.url}/customers/{FEATURED}")
    expect()(page.locator("h1")).to_contain_text("")
    page.fill("textarea[name=body]", "定期便の周期を45日に変更したいとのこと。次回は夕方に連絡。")
    page.get_by_role("button", name="メモを追加").click()
    page.wait_for_load_state("networkidle")
    expect()(page.locator(".flash")).to_have_text("メモを追加しました。")
    expect()(page.locator("#notes .notes li").first).to_contain_text("定期便の周期を45日")
    expect()(page.locator("#notes .notes li").first).to_contain_text("kanri")
    screenshot(page, "05-customer")


def test_dnc_and_charts_pages(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "kanri")
    page.goto(f"{live_app.url}/dnc")
    expect()(page.locator("table.dnc tbody tr").first).to_be_visible()
    screenshot(page, "06-dnc")
    page.goto(f"{live_app.url}/charts")
    expect()(page.locator("#generated-at")).not_to_have_text("…")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 3")
    screenshot(page, "07-charts")


def test_surveys_page(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "kanri")
    page.get_by_role("link", name="アンケート結果").click()
    page.wait_for_load_state("networkidle")
    expect()(page.locator("h1")).to_have_text("アンケート結果")
    survey = page.locator(f'section[data-campaign="{SURVEY_CAMPAIGN}"]')
    expect()(survey.locator("h2")).to_have_text("定期便 満足度アンケート")
    expect()(survey.locator('[data-field="mean"]')).to_have_text(re.compile(r"^[1-5]\.\d$"))
    expect()(survey.locator(".bar-fill")).to_have_count(5)
    screenshot(page, "10-surveys")


def test_an_operator_sees_their_calls(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "sato")
    assert page.url == f"{live_app.url}/calls"
    expect()(page.locator("h1")).to_have_text("担当通話")
    assert page.goto(f"{live_app.url}/overview").status == 403
    page.goto(f"{live_app.url}/calls")
    screenshot(page, "08-operator-calls")


def test_the_english_switch(page: Any, live_app: LiveApp, screenshot: Shot) -> None:
    log_in(page, live_app.url, "kanri")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("networkidle")
    expect()(page.locator("h1")).to_have_text("Overview")
    expect()(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "09-overview-english")
