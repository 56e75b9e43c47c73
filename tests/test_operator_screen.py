"""The operator screen: who may see which call, what the case page shows, and the disposition
form that closes or reschedules the entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from dialer.models import (
    Attempt,
    CallListEntry,
    CallStatus,
    DncEntry,
    EntryState,
    SubscriptionStatus,
)
from dialer.outcome_codes import ClosedReason
from dialer.settings import Settings
from tests.conftest import Accounts, LoggedIn
from tests.factories import (
    DEFAULT_TIME,
    JST,
    TEST_PASSWORD,
    make_attempt,
    make_customer,
    make_entry,
    make_key_press,
    make_subscription,
)
from web import create_app
from web.database import database

NOW = DEFAULT_TIME + timedelta(minutes=5)
SAVE = "cancel-save"
F2 = "f2-followup"

CAMPAIGNS_YAML = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
  timezone: Asia/Tokyo
policy:
  hours: "09:00-20:00"
  holidays: JP
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [cancel-save]}
  - {id: suzuki, name: 鈴木, phone: "+81311113333", queues: [f2-followup]}
campaigns:
  - id: cancel-save
    name: 定期便 解約防止
    purpose: 定期お届け便のお手続きについて
    kind: service
    dates: {from: 2026-11-01, to: 2026-11-30}
    segment: {subscription_status: cancel_requested}
    windows: {mon-sat: ["10:00-19:00"]}
    ivr:
      greeting: "{company}でございます。{purpose}お電話いたしました。"
      menu:
        "1": {action: agent}
    script:
      reasons:
        too_much_stock: お届け周期を60日・90日に変更、または次回のスキップをご提案
        firm: ご意思が変わらない場合は、その場で解約を承る
      notes: 代替案は一度だけご案内し、解約のご希望は必ずその場で承ってください。
  - id: f2-followup
    name: 2回目購入のご案内
    purpose: 定期お届け便のご案内
    kind: service
    segment: {orders_count: 1}
    windows: {mon-fri: ["10:00-19:00"]}
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "1": {action: agent}
"""


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text(CAMPAIGNS_YAML, encoding="utf-8")
    return path


def _app(settings: Settings, **config: object) -> Iterator[Flask]:
    app = create_app(settings, {"TESTING": True, **config}, clock=lambda: NOW)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def dashboard(dashboard_settings: Settings) -> Iterator[Flask]:
    """The dashboard at `NOW`, CSRF off."""
    yield from _app(dashboard_settings, WTF_CSRF_ENABLED=False)


@pytest.fixture
def guarded(dashboard_settings: Settings) -> Iterator[Flask]:
    """The dashboard at `NOW` as it runs: CSRF checked."""
    yield from _app(dashboard_settings)


def bridged_call(
    session: Session,
    *,
    campaign_id: str = SAVE,
    operator_id: str | None = None,
    live: bool = False,
    queue_result: str | None = "bridged",
) -> Attempt:
    """A call whose customer pressed the agent key and was put through (or is on the line)."""
    customer = make_customer(session, name="山田 花子", name_kana="ヤマダ ハナコ")
    make_subscription(
        session, customer, sku="AOJIRU-30", status=SubscriptionStatus.CANCEL_REQUESTED
    )
    entry = make_entry(
        session,
        customer,
        campaign_id=campaign_id,
        state=EntryState.IN_PROGRESS if live else EntryState.DONE,
        next_attempt_at=None,
    )
    attempt = make_attempt(
        session,
        entry,
        started_at=DEFAULT_TIME,
        status=CallStatus.IN_PROGRESS if live else CallStatus.COMPLETED,
        outcome=None if live else "human",
        ended_at=None if live else NOW,
    )
    attempt.answered_by = "human"
    attempt.operator_id = operator_id
    attempt.queue_result = None if live else queue_result
    make_key_press(session, attempt, action="agent", digits="1")
    session.commit()
    return attempt


def page(attempt: Attempt) -> str:
    return f"/operator/attempts/{attempt.id}"


def post(client: FlaskClient, attempt: Attempt, **form: str) -> str:
    """Post the disposition form; the text of the page it leads back to."""
    response = client.post(f"{page(attempt)}/disposition", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == page(attempt)
    return client.get(page(attempt)).text


def entry_of(session: Session, attempt: Attempt) -> CallListEntry:
    session.expire_all()
    entry = session.get_one(CallListEntry, attempt.entry_id)
    session.commit()
    return entry


# --- who may see what --------------------------------------------------------------------------


def test_visitors_without_a_login_are_sent_to_the_login_form(
    logged_in: LoggedIn, session: Session
) -> None:
    attempt = bridged_call(session)
    client = logged_in(None)
    for response in (
        client.get("/operator"),
        client.get(page(attempt)),
        client.post(f"{page(attempt)}/disposition", data={"disposition": "refused"}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert session.get_one(Attempt, attempt.id).disposition is None
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 0


def test_an_operator_opens_the_calls_of_their_queues_and_their_own(
    logged_in: LoggedIn, session: Session
) -> None:
    mine = bridged_call(session)
    assigned = bridged_call(session, campaign_id=F2, operator_id="sato")
    client = logged_in("operator")
    assert client.get(page(mine)).status_code == 200
    assert client.get(page(assigned)).status_code == 200


def test_an_operator_cannot_open_or_disposition_another_operators_call(
    logged_in: LoggedIn, session: Session
) -> None:
    other_queue = bridged_call(session, campaign_id=F2)
    taken_by_another = bridged_call(session, operator_id="suzuki")
    client = logged_in("operator")
    for attempt in (other_queue, taken_by_another):
        assert client.get(page(attempt)).status_code == 403
        response = client.post(f"{page(attempt)}/disposition", data={"disposition": "reached"})
        assert response.status_code == 403
        assert session.get_one(Attempt, attempt.id).disposition is None


def test_a_supervisor_opens_every_call(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session, campaign_id=F2, operator_id="suzuki")
    assert logged_in("supervisor").get(page(attempt)).status_code == 200


def test_an_unknown_call_is_not_found(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    assert client.get("/operator/attempts/999999").status_code == 404
    response = client.post("/operator/attempts/999999/disposition", data={"disposition": "x"})
    assert response.status_code == 404


def test_the_form_without_a_csrf_token_is_refused_and_changes_nothing(
    guarded: Flask, accounts: Accounts, session: Session
) -> None:
    attempt = bridged_call(session)
    client = guarded.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    assert token is not None
    client.post(
        "/login",
        data={"username": "sato", "password": TEST_PASSWORD, "csrf_token": token.group(1)},
    )
    response = client.post(f"{page(attempt)}/disposition", data={"disposition": "converted"})
    assert response.status_code == 400
    assert session.get_one(Attempt, attempt.id).disposition is None
    session.commit()

    form_token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page(attempt)).text)
    assert form_token is not None
    response = client.post(
        f"{page(attempt)}/disposition",
        data={"disposition": "converted", "csrf_token": form_token.group(1)},
    )
    assert response.status_code == 302
    assert entry_of(session, attempt).closed_reason == ClosedReason.CONVERTED


# --- the list of calls awaiting a disposition ----------------------------------------------------


def test_the_list_shows_the_operators_calls_without_a_disposition(
    logged_in: LoggedIn, session: Session
) -> None:
    waiting = bridged_call(session)
    on_the_line = bridged_call(session, live=True)
    done = bridged_call(session)
    done.disposition = "reached"
    abandoned = bridged_call(session, queue_result="hangup")
    elsewhere = bridged_call(session, campaign_id=F2)
    session.commit()

    def listed(role: str) -> set[int]:
        text = logged_in(role).get("/operator").text
        return {int(found) for found in re.findall(r"/operator/attempts/(\d+)", text)}

    assert listed("operator") == {waiting.id, on_the_line.id}
    assert listed("supervisor") == {waiting.id, on_the_line.id, elsewhere.id}
    assert abandoned.id not in listed("supervisor")
    assert done.id not in listed("supervisor")


def test_the_list_page_is_japanese_first_and_has_a_nav_link(logged_in: LoggedIn) -> None:
    text = logged_in("operator").get("/operator").text
    assert "対応結果の未入力の通話" in text
    assert 'href="/operator"' in text


# --- the case page -----------------------------------------------------------------------------


def test_the_case_shows_the_customer_history_and_the_script(
    logged_in: LoggedIn, session: Session
) -> None:
    attempt = bridged_call(session)
    with session.begin():
        earlier_entry = make_entry(session, attempt.customer, campaign_id=F2, state=EntryState.DONE)
        earlier = make_attempt(
            session,
            earlier_entry,
            started_at=DEFAULT_TIME - timedelta(days=40),
            status=CallStatus.COMPLETED,
            outcome="human",
        )
        earlier.disposition = "converted"
        earlier.notes = "定期便にお申し込みいただいた"

    text = logged_in("operator").get(page(attempt)).text
    assert "山田 花子" in text and "ヤマダ ハナコ" in text
    assert "AOJIRU-30" in text and "解約申請中" in text
    national = "0" + attempt.phone.removeprefix("+81")
    assert national[:3] in text and national[-4:] in text
    assert "お届け周期を60日・90日に変更" in text
    assert "解約のご希望は必ずその場で承ってください" in text
    assert "第13条の2" in text
    assert "定期便にお申し込みいただいた" in text  # the earlier call's note, from the history
    assert "2026年9月23日" in text  # the earlier call, 40 days before
    assert 'name="disposition" value="cancelled_as_requested"' in text
    assert 'type="datetime-local" name="callback_at"' in text


def test_the_case_page_switches_to_english(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session)
    client = logged_in("operator")
    with client.session_transaction() as browser:
        browser["lang"] = "en"
    text = client.get(page(attempt)).text
    assert "Record disposition" in text
    assert "Cancelled as requested" in text


# --- the form ----------------------------------------------------------------------------------


def test_posting_a_disposition_closes_the_entry(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session)
    text = post(
        logged_in("operator"), attempt, disposition="retained_longer_cycle", note="60日周期へ"
    )
    assert "対応結果を登録しました。" in text
    assert "継続（周期変更）" in text
    assert 'name="disposition"' not in text  # no second form
    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.RETAINED)
    stored = session.get_one(Attempt, attempt.id)
    assert (stored.disposition, stored.dispositioned_by, stored.notes) == (
        "retained_longer_cycle",
        "sato",
        "60日周期へ",
    )


def test_a_refusal_posted_puts_the_customer_on_the_dnc_list(
    logged_in: LoggedIn, session: Session
) -> None:
    attempt = bridged_call(session)
    text = post(logged_in("operator"), attempt, disposition="refused")
    assert "発信禁止リストに登録し" in text
    dnc = session.scalars(sa.select(DncEntry)).one()
    assert (dnc.customer_id, dnc.added_by) == (attempt.customer_id, "sato")
    assert entry_of(session, attempt).closed_reason == ClosedReason.REFUSED


def test_a_callback_posted_in_campaign_time_reschedules_the_entry(
    logged_in: LoggedIn, session: Session
) -> None:
    attempt = bridged_call(session)
    # Tuesday 3 November is 文化の日: the first open instant is Wednesday at 10:00.
    text = post(
        logged_in("operator"),
        attempt,
        disposition="callback",
        callback_at="2026-11-03T11:00",
    )
    assert "2026年11月4日(水) 10:00にかけ直す予定を登録しました。" in text
    entry = entry_of(session, attempt)
    assert (entry.state, entry.next_attempt_at) == (
        EntryState.PENDING,
        datetime(2026, 11, 4, 10, 0, tzinfo=JST),
    )
    assert session.get_one(Attempt, attempt.id).callback_at == datetime(
        2026, 11, 3, 11, 0, tzinfo=JST
    )


@pytest.mark.parametrize(
    ("callback_at", "message"),
    [
        ("", "かけ直しの日時を入力してください。"),
        ("2026-11-02T09:00", "かけ直しの日時がすでに過ぎています。"),
        ("2026-12-01T10:00", "その日時の前にキャンペーンが終了します。"),
    ],
    ids=["missing", "past", "after-the-campaign"],
)
def test_an_unusable_callback_time_is_explained_and_changes_nothing(
    logged_in: LoggedIn, session: Session, callback_at: str, message: str
) -> None:
    attempt = bridged_call(session)
    text = post(logged_in("operator"), attempt, disposition="callback", callback_at=callback_at)
    assert message in text
    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.REACHED)
    assert session.get_one(Attempt, attempt.id).disposition is None


def test_posting_twice_is_refused_the_second_time(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session)
    client = logged_in("operator")
    post(client, attempt, disposition="converted")
    text = post(client, attempt, disposition="refused")
    assert "この通話の対応結果はすでに登録済みです。" in text
    assert entry_of(session, attempt).closed_reason == ClosedReason.CONVERTED
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 0


def test_posting_without_a_choice_is_explained(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session)
    assert "対応結果を選んでください。" in post(logged_in("operator"), attempt)


def test_the_case_shows_when_the_campaign_ends(logged_in: LoggedIn, session: Session) -> None:
    attempt = bridged_call(session)
    text = logged_in("operator").get(page(attempt)).text
    assert 'max="2026-11-30T23:59"' in text
    assert "2026年11月30日" in text
    assert date(2026, 11, 30).isoformat() in text
