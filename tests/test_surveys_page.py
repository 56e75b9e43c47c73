"""The survey page (満足度調査): answers and mean per campaign over a period, supervisors only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from dialer.settings import Settings
from tests.conftest import LoggedIn
from tests.factories import JST, make_attempt, make_entry, make_key_press
from tests.test_ivr_survey import SURVEY_CAMPAIGNS_YAML
from web import create_app
from web.database import database

#: The app's clock: Friday 2026-11-20, 15:00 in Tokyo. The default period is 22 Oct to 20 Nov.
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=JST)


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    """Two survey campaigns (`satisfaction`, 1–5; `survey-key`, 0–9) and two without."""
    path = tmp_path / "campaigns.yaml"
    path.write_text(SURVEY_CAMPAIGNS_YAML, encoding="utf-8")
    return path


@pytest.fixture
def dashboard(dashboard_settings: Settings) -> Iterator[Flask]:
    """The dashboard at `NOW` by its clock."""
    app = create_app(
        dashboard_settings, {"TESTING": True, "WTF_CSRF_ENABLED": False}, clock=lambda: NOW
    )
    yield app
    database(app).engine.dispose()


def answer(session: Session, campaign_id: str, digits: str, at: datetime) -> None:
    attempt = make_attempt(session, make_entry(session, campaign_id=campaign_id), started_at=at)
    make_key_press(session, attempt, step="survey", digits=digits, action=None, pressed_at=at)


def card(page: str, campaign_id: str) -> str:
    """The part of the page about one campaign."""
    start = page.index(f'data-campaign="{campaign_id}"')
    return page[start : page.index("</section>", start)]


def field(html: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', html)
    assert found is not None, name
    return found.group(1)


def counts(html: str) -> dict[int, int]:
    rows = re.findall(r'data-answer="(\d+)".*?data-field="count">([\d,]+)<', html, re.S)
    return {int(answer): int(count) for answer, count in rows}


def get(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/surveys{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_survey_campaign_shows_its_answers_counts_and_mean(
    logged_in: LoggedIn, session: Session
) -> None:
    for digits in ("5", "5", "4", "1", "1"):
        answer(session, "satisfaction", digits, NOW - timedelta(days=3))
    answer(session, "survey-key", "9", NOW - timedelta(hours=1))
    session.commit()

    page = get(logged_in("supervisor"))

    satisfaction = card(page, "satisfaction")
    assert "定期便 満足度調査" in satisfaction
    assert "定期便 満足度調査の満足度を、1から5の番号でお答えください。" in satisfaction
    assert field(satisfaction, "answered") == "5"
    assert field(satisfaction, "mean") == "3.2"
    assert counts(satisfaction) == {1: 2, 2: 0, 3: 0, 4: 1, 5: 2}
    assert 'style="width: 40.0%"' in satisfaction
    survey_key = card(page, "survey-key")
    assert (field(survey_key, "answered"), field(survey_key, "mean")) == ("1", "9.0")
    assert 'data-campaign="cancel-save"' not in page


def test_the_default_period_is_the_last_30_days_in_the_company_zone(
    logged_in: LoggedIn, session: Session
) -> None:
    first_day = datetime(2026, 10, 22, 0, 0, tzinfo=JST)
    answer(session, "satisfaction", "5", first_day)
    answer(session, "satisfaction", "1", first_day - timedelta(minutes=1))
    session.commit()

    page = get(logged_in("supervisor"))

    assert counts(card(page, "satisfaction")) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert 'name="from" value="2026-10-22"' in page
    assert 'name="to" value="2026-11-20"' in page


def test_the_chosen_period_excludes_answers_outside_it(
    logged_in: LoggedIn, session: Session
) -> None:
    answer(session, "satisfaction", "2", datetime(2026, 11, 9, 23, 59, tzinfo=JST))
    answer(session, "satisfaction", "4", datetime(2026, 11, 10, 0, 0, tzinfo=JST))
    answer(session, "satisfaction", "5", datetime(2026, 11, 11, 23, 59, tzinfo=JST))
    answer(session, "satisfaction", "3", datetime(2026, 11, 12, 0, 0, tzinfo=JST))
    session.commit()

    satisfaction = card(
        get(logged_in("supervisor"), "?from=2026-11-10&to=2026-11-11"), "satisfaction"
    )

    assert counts(satisfaction) == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert field(satisfaction, "mean") == "4.5"


def test_a_period_that_names_no_days_is_explained(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    assert "開始日が日付ではありません。" in get(client, "?from=yesterday")
    assert "開始日が日付ではありません。" in get(client, "?from=0001-01-01")
    assert "終了日が日付ではありません。" in get(client, "?to=9999-12-31")
    backwards = get(client, "?from=2026-11-12&to=2026-11-10")
    assert "終了日が開始日より前です。" in backwards
    assert "data-campaign" not in backwards


def test_a_survey_without_answers_says_so(logged_in: LoggedIn) -> None:
    page = get(logged_in("supervisor"))

    satisfaction = card(page, "satisfaction")
    assert (field(satisfaction, "answered"), field(satisfaction, "mean")) == ("0", "—")
    assert "まだ回答がありません" in satisfaction
    assert "まだ回答がありません" in card(page, "survey-key")


def test_the_page_is_in_japanese_with_an_english_switch(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    japanese = get(client)
    assert "<h1>アンケート結果</h1>" in japanese
    assert "回答数" in japanese

    client.post("/language", data={"lang": "en", "next": "/surveys"})
    english = get(client)

    assert "<h1>Surveys</h1>" in english
    assert ">Answers<" in english and ">Mean<" in english
    assert "No answers yet." in english
    assert "Fri 20 Nov 2026" in english


def test_answers_of_a_campaign_no_longer_configured_are_still_shown(
    logged_in: LoggedIn, session: Session
) -> None:
    answer(session, "summer-survey", "2", NOW - timedelta(days=1))
    session.commit()

    summer = card(get(logged_in("supervisor")), "summer-survey")

    assert "campaigns.yaml から削除されたキャンペーンです。" in summer
    assert counts(summer) == {2: 1}


def test_the_nav_links_to_the_page_for_supervisors_only(logged_in: LoggedIn) -> None:
    assert 'href="/surveys"' in get(logged_in("supervisor"))
    operator_page = logged_in("operator").get("/calls").get_data(as_text=True)
    assert 'href="/surveys"' not in operator_page


def test_operators_are_refused_and_visitors_sent_to_log_in(logged_in: LoggedIn) -> None:
    assert logged_in("operator").get("/surveys").status_code == 403
    response = logged_in(None).get("/surveys")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
