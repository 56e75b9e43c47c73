"""Every dashboard route for every kind of visitor, then what the pages show and change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialer.campaign_control import is_paused
from dialer.models import CallStatus, CustomerNote, DncEntry, EntryState
from tests.conftest import LoggedIn
from tests.factories import (
    make_attempt,
    make_call_event,
    make_customer,
    make_dnc_entry,
    make_entry,
    make_key_press,
    make_order,
    make_subscription,
)

CUSTOMER = "C-ROUTE"
PHONE = "+819012345678"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    anonymous: int
    operator: int
    supervisor: int

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


LOGIN = 302  # pages send visitors without a login to the login form
ROUTES = [
    Route("GET", "/", LOGIN, 302, 302),
    Route("GET", "/overview", LOGIN, 403, 200),
    Route("GET", "/charts", LOGIN, 403, 200),
    Route("GET", "/calls", LOGIN, 200, 200),
    Route("GET", "/calls.csv", LOGIN, 200, 200),
    Route("GET", f"/customers/{CUSTOMER}", LOGIN, 200, 200),
    Route("GET", "/customers/NO-SUCH-CUSTOMER", LOGIN, 404, 404),
    Route("GET", "/dnc", LOGIN, 200, 200),
    Route("GET", "/api/overview", 401, 403, 200),
    Route("GET", "/api/charts", 401, 403, 200),
    Route("POST", "/campaigns/f2-followup/pause", LOGIN, 403, 302),
    Route("POST", "/campaigns/f2-followup/resume", LOGIN, 403, 302),
    Route("POST", "/campaigns/no-such-campaign/pause", LOGIN, 403, 404),
    Route("POST", f"/customers/{CUSTOMER}/notes", LOGIN, 302, 302),
    Route("POST", "/dnc", LOGIN, 302, 302),
    Route("POST", "/dnc/{dnc_id}/remove", LOGIN, 403, 302),
    Route("POST", "/logout", LOGIN, 302, 302),
    Route("GET", "/login", 200, 200, 200),
    Route("GET", "/healthz", 200, 200, 200),
]


@pytest.fixture
def route_data(session: Session) -> dict[str, int]:
    customer = make_customer(session, external_id=CUSTOMER, phones=[PHONE])
    entry = make_dnc_entry(session, phone=PHONE, reason="電話で拒否")
    session.commit()
    assert customer.id
    return {"dnc_id": entry.id}


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("role", [None, "operator", "supervisor"])
def test_every_route_for_every_visitor(
    logged_in: LoggedIn, route_data: dict[str, int], route: Route, role: str | None
) -> None:
    client = logged_in(role)
    path = route.path.format(**route_data)
    form = {"reason": "テスト", "body": "メモ", "phone": "090-1111-2222"}
    response = client.open(path, method=route.method, data=form if route.method == "POST" else None)
    expected = {None: route.anonymous, "operator": route.operator, "supervisor": route.supervisor}
    assert response.status_code == expected[role]
    if role is None and expected[role] == LOGIN:
        assert response.headers["Location"].startswith("/login")


def test_home_sends_each_role_to_its_page(logged_in: LoggedIn) -> None:
    assert logged_in("supervisor").get("/").headers["Location"] == "/overview"
    assert logged_in("operator").get("/").headers["Location"] == "/calls"


def test_api_errors_are_json(logged_in: LoggedIn) -> None:
    response = logged_in("operator").get("/api/overview")
    assert response.status_code == 403
    assert response.is_json


# --- overview and its switches -----------------------------------------------------------


def test_overview_shows_each_campaign_with_its_figures(
    logged_in: LoggedIn, session: Session
) -> None:
    make_entry(session)
    session.commit()
    page = logged_in("supervisor").get("/overview").text
    assert "2回目購入のご案内" in page
    assert 'data-campaign="f2-followup"' in page
    assert "接続率" in page
    assert "/static/overview.js" in page


def paused(session: Session) -> bool:
    """Read the switch and end the transaction (on SQLite it holds the app's write lock)."""
    try:
        return is_paused(session, "f2-followup")
    finally:
        session.rollback()


def test_pause_and_resume(logged_in: LoggedIn, session: Session) -> None:
    client = logged_in("supervisor")
    response = client.post("/campaigns/f2-followup/pause", data={"reason": "研修のため"})
    assert response.headers["Location"] == "/overview"
    assert paused(session)
    page = client.get("/overview").text
    assert "「2回目購入のご案内」を一時停止しました。" in page
    assert 'data-state="paused"' in page
    assert "kanri が停止" in page
    client.post("/campaigns/f2-followup/resume")
    assert not paused(session)


def test_an_operator_cannot_pause(logged_in: LoggedIn, session: Session) -> None:
    logged_in("operator").post("/campaigns/f2-followup/pause")
    assert not paused(session)


@pytest.fixture
def broken_campaigns(campaigns_path: Path) -> Path:
    """A campaigns file that does not load, written before the app starts."""
    campaigns_path.write_text("company: [broken", encoding="utf-8")
    return campaigns_path


def test_a_campaigns_file_that_never_loaded_is_shown_not_crashed_on(
    broken_campaigns: Path, logged_in: LoggedIn, session: Session
) -> None:
    make_entry(session)
    session.commit()
    page = logged_in("supervisor").get("/overview").text
    assert "campaigns.yaml を読み込めません" in page
    assert "設定エラー" in page


def test_a_refused_edit_is_shown_while_the_last_good_campaigns_run(
    logged_in: LoggedIn, campaigns_path: Path, session: Session
) -> None:
    make_entry(session)
    session.commit()
    supervisor = logged_in("supervisor")
    assert "読み込めませんでした" not in supervisor.get("/overview").text
    good = campaigns_path.read_text(encoding="utf-8")
    campaigns_path.write_text("company: [broken", encoding="utf-8")
    page = supervisor.get("/overview").text
    assert "campaigns.yaml の最新の変更は読み込めませんでした" in page
    assert "campaigns.yaml を読み込めません。" not in page
    assert "設定エラー" not in page  # the campaigns still dial, on the last good file
    overview = supervisor.get("/api/overview").get_json()
    assert overview["config_ok"] and overview["config_problems"]
    campaigns_path.write_text(good + "\n", encoding="utf-8")
    assert "読み込めませんでした" not in supervisor.get("/overview").text


# --- the customer page ------------------------------------------------------------------


@pytest.fixture
def history(session: Session) -> dict[str, int]:
    """A customer with an order, a subscription and a call with its callbacks and keys."""
    customer = make_customer(session, external_id=CUSTOMER, name="佐々木 花子", phones=[PHONE])
    make_order(session, customer, sku="AOJIRU-30", amount=3980)
    make_subscription(session, customer, sku="AOJIRU-30")
    entry = make_entry(session, customer, state=EntryState.DONE)
    attempt = make_attempt(session, entry, status=CallStatus.COMPLETED, outcome="human")
    attempt.disposition = "retained_skip"
    attempt.operator_id = "sato"
    attempt.notes = "次回は夕方希望"
    attempt.duration_seconds = 185
    make_key_press(session, attempt, action="agent", digits="1")
    make_call_event(session, attempt, payload={"CallStatus": "completed", "CallDuration": "185"})
    session.commit()
    return {"attempt_id": attempt.id, "customer_id": customer.id}


def test_customer_page_shows_the_whole_history(
    logged_in: LoggedIn, history: dict[str, int]
) -> None:
    page = logged_in("supervisor").get(f"/customers/{CUSTOMER}").text
    for expected in (
        "佐々木 花子",
        "AOJIRU-30",
        "¥3,980",
        "継続（1回スキップ）",  # the disposition
        "次回は夕方希望",  # the operator's note on the call
        "3:05",  # the duration
        "オペレーターへ",  # the key press
        "CallDuration=185",  # the stored callback
        "2回目購入のご案内",  # the why report's campaign
    ):
        assert expected in page, expected


def test_supervisors_see_numbers_operators_see_them_masked(
    logged_in: LoggedIn, history: dict[str, int]
) -> None:
    assert "090-1234-5678" in logged_in("supervisor").get(f"/customers/{CUSTOMER}").text
    page = logged_in("operator").get(f"/customers/{CUSTOMER}").text
    assert "090-1234-5678" not in page
    assert "+81 90-****-5678" in page


def test_an_operator_on_a_call_with_the_customer_sees_the_number(
    logged_in: LoggedIn, history: dict[str, int], session: Session
) -> None:
    customer = make_customer(session, external_id="C-LIVE", phones=["+819087654321"])
    entry = make_entry(session, customer, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=CallStatus.IN_PROGRESS)
    attempt.started_at = attempt.started_at.now(attempt.started_at.tzinfo)
    attempt.operator_id = "sato"
    session.commit()
    client = logged_in("operator")
    assert "090-8765-4321" in client.get("/customers/C-LIVE").text
    assert "090-1234-5678" not in client.get(f"/customers/{CUSTOMER}").text


def test_adding_a_note(logged_in: LoggedIn, history: dict[str, int], session: Session) -> None:
    client = logged_in("operator")
    response = client.post(
        f"/customers/{CUSTOMER}/notes",
        data={"body": "  定期便の周期を45日に変更希望  ", "attempt_id": str(history["attempt_id"])},
    )
    assert response.headers["Location"].endswith(f"/customers/{CUSTOMER}#notes")
    note = session.query(CustomerNote).one()
    assert (note.body, note.author, note.attempt_id) == (
        "定期便の周期を45日に変更希望",
        "sato",
        history["attempt_id"],
    )
    session.rollback()
    page = client.get(f"/customers/{CUSTOMER}").text
    assert "メモを追加しました。" in page
    assert "定期便の周期を45日に変更希望" in page


def test_an_empty_note_is_refused(
    logged_in: LoggedIn, history: dict[str, int], session: Session
) -> None:
    client = logged_in("operator")
    client.post(f"/customers/{CUSTOMER}/notes", data={"body": "   "})
    assert session.query(CustomerNote).count() == 0
    session.rollback()
    assert "メモは1〜2000文字で入力してください。" in client.get(f"/customers/{CUSTOMER}").text


def test_the_customer_page_shows_the_dnc_status(
    logged_in: LoggedIn, history: dict[str, int], session: Session
) -> None:
    client = logged_in("supervisor")
    assert "発信禁止</span>" not in client.get(f"/customers/{CUSTOMER}").text
    session.rollback()
    make_dnc_entry(session, phone=PHONE, reason="今後の電話は不要")
    session.commit()
    page = client.get(f"/customers/{CUSTOMER}").text
    assert "発信禁止</span>" in page
    assert "今後の電話は不要" in page


def test_adding_the_customer_to_the_dnc_list_from_their_page(
    logged_in: LoggedIn, history: dict[str, int], session: Session
) -> None:
    response = logged_in("operator").post(
        "/dnc",
        data={
            "customer": CUSTOMER,
            "reason": "今後の電話を断られた",
            "back": f"/customers/{CUSTOMER}#dnc",
        },
    )
    assert response.headers["Location"] == f"/customers/{CUSTOMER}#dnc"
    entry = session.query(DncEntry).one()
    assert (entry.customer_id, entry.added_by, entry.source.value) == (
        history["customer_id"],
        "sato",
        "operator",
    )
