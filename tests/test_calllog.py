"""The call log's filters and pages, and its CSV export through the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dialer.calllog import LIVE_OUTCOME, InvalidFilterError, LogFilter, export_rows, search
from dialer.models import CallStatus, EntryState
from tests.conftest import LoggedIn
from tests.factories import JST, make_attempt, make_customer, make_entry

START = datetime(2026, 11, 2, 9, 30, tzinfo=JST)


def call(
    session: Session,
    *,
    name: str = "山田 太郎",
    kana: str | None = "ヤマダ タロウ",
    phone: str = "+819011112222",
    campaign: str = "f2-followup",
    at: datetime = START,
    outcome: str | None = "human",
    operator: str | None = None,
    external_id: str | None = None,
) -> int:
    customer = make_customer(
        session, name=name, name_kana=kana, phones=[phone], external_id=external_id
    )
    entry = make_entry(session, customer, campaign_id=campaign, state=EntryState.DONE)
    status = CallStatus.COMPLETED if outcome else CallStatus.IN_PROGRESS
    attempt = make_attempt(session, entry, started_at=at, status=status, outcome=outcome)
    attempt.operator_id = operator
    session.flush()
    return attempt.id


def found(session: Session, **filters: object) -> list[int]:
    page = search(session, LogFilter(**filters), zone=JST)  # type: ignore[arg-type]
    return [row.attempt_id for row in page.rows]


def test_newest_first(session: Session) -> None:
    older = call(session, at=START)
    newer = call(session, at=START + timedelta(minutes=1))
    session.commit()
    assert found(session) == [newer, older]


def test_filters_by_campaign_and_outcome(session: Session) -> None:
    wanted = call(session, campaign="winback", outcome="busy")
    call(session, campaign="winback", outcome="human")
    call(session, campaign="f2-followup", outcome="busy")
    live = call(session, campaign="winback", outcome=None)
    session.commit()
    assert found(session, campaign_id="winback", outcome="busy") == [wanted]
    assert found(session, outcome=LIVE_OUTCOME) == [live]


def test_dates_are_whole_days_in_the_company_zone(session: Session) -> None:
    just_after_midnight = call(session, at=datetime(2026, 11, 3, 0, 5, tzinfo=JST))
    late_evening = call(session, at=datetime(2026, 11, 2, 23, 55, tzinfo=JST))
    call(session, at=datetime(2026, 11, 4, 0, 0, tzinfo=JST))
    session.commit()
    third = date(2026, 11, 3)
    assert found(session, date_from=third, date_to=third) == [just_after_midnight]
    assert found(session, date_to=date(2026, 11, 2)) == [late_evening]


def test_finds_a_number_by_its_last_digits(session: Session) -> None:
    wanted = call(session, phone="+819012345678")
    call(session, phone="+819056781234")
    session.commit()
    assert found(session, phone_digits="5678") == [wanted]


@pytest.mark.parametrize("query", ["花子", "ハナコ", "C-HANA", "佐々木 花子"])
def test_finds_a_customer_by_name_reading_or_id(session: Session, query: str) -> None:
    wanted = call(session, name="佐々木 花子", kana="ササキ ハナコ", external_id="C-HANA")
    call(session, name="山田 太郎", kana="ヤマダ タロウ")
    session.commit()
    assert found(session, name=query) == [wanted]


def test_name_search_treats_wildcards_as_text(session: Session) -> None:
    call(session, name="山田 太郎")
    session.commit()
    assert found(session, name="%") == []
    assert found(session, name="_") == []


def test_an_operators_log_has_only_their_calls(session: Session) -> None:
    mine = call(session, operator="sato")
    call(session, operator="suzuki")
    call(session, operator=None)
    session.commit()
    assert found(session, operator_id="sato") == [mine]


def test_pages_follow_each_other_without_gaps_or_repeats(session: Session) -> None:
    # Five calls started at the same instant and two others: ties are broken by id.
    ids = [call(session, at=START) for _ in range(5)]
    ids += [call(session, at=START - timedelta(hours=1)), call(session, at=START + timedelta(1))]
    session.commit()
    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = search(session, LogFilter(), zone=JST, cursor=cursor, limit=3)
        seen += [row.attempt_id for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    assert seen == found(session)


def test_a_page_that_fills_exactly_has_no_next(session: Session) -> None:
    for _ in range(3):
        call(session)
    session.commit()
    assert search(session, LogFilter(), zone=JST, limit=3).next_cursor is None


@pytest.mark.parametrize(
    ("filters", "field"),
    [({"phone_digits": "12a4"}, "phone"), ({"phone_digits": "1"}, "phone")],
)
def test_bad_filters_are_refused(filters: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidFilterError) as raised:
        LogFilter(**filters)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_bad_cursor_is_refused(session: Session) -> None:
    with pytest.raises(InvalidFilterError):
        search(session, LogFilter(), zone=JST, cursor="nonsense")


def test_end_before_start_is_refused() -> None:
    with pytest.raises(InvalidFilterError):
        LogFilter(date_from=date(2026, 11, 3), date_to=date(2026, 11, 2))


def test_export_reads_every_row_in_short_transactions(session: Session) -> None:
    ids = [call(session, at=START + timedelta(seconds=n)) for n in range(5)]
    session.commit()
    rows = export_rows(session, LogFilter(), zone=JST)
    first = next(rows)
    assert not session.in_transaction()  # nothing held open while the rows travel
    assert [first.attempt_id, *(row.attempt_id for row in rows)] == ids[::-1]


# --- through the dashboard ----------------------------------------------------------------


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_of_the_filtered_log(logged_in: LoggedIn, session: Session) -> None:
    call(session, campaign="winback", outcome="busy", external_id="C-BUSY")
    call(session, campaign="f2-followup", outcome="human")
    session.commit()
    response = logged_in("supervisor").get("/calls.csv?campaign=winback")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response.data)
    assert header[:3] == ["発信日時", "キャンペーン", "顧客ID"]
    assert len(rows) == 1
    assert rows[0][1:3] == ["winback", "C-BUSY"]
    assert rows[0][0] == "2026-11-02T09:30:00+09:00"
    assert rows[0][4] == "090-1111-2222"  # a supervisor's export has the full number


def test_an_operators_csv_has_only_their_calls_with_masked_numbers(
    logged_in: LoggedIn, session: Session
) -> None:
    call(session, operator="sato", external_id="C-MINE")
    call(session, operator="suzuki")
    session.commit()
    _header, *rows = read_csv(logged_in("operator").get("/calls.csv").data)
    assert [row[2] for row in rows] == ["C-MINE"]
    assert rows[0][4] == "+81 90-****-2222"


def test_csv_cells_that_look_like_formulas_stay_text(logged_in: LoggedIn, session: Session) -> None:
    call(session, name="=HYPERLINK(1)")
    session.commit()
    _header, row = read_csv(logged_in("supervisor").get("/calls.csv").data)
    assert row[3] == "'=HYPERLINK(1)"


def test_the_log_page_lists_and_pages(logged_in: LoggedIn, session: Session) -> None:
    call(session, name="佐々木 花子", external_id="C-HANA")
    session.commit()
    page = logged_in("supervisor").get("/calls?name=花子").text
    assert "佐々木 花子" in page
    assert "/customers/C-HANA" in page
    assert "090-1111-2222" in page


def test_the_log_page_explains_a_bad_filter(logged_in: LoggedIn) -> None:
    page = logged_in("supervisor").get("/calls?phone=12ab").text
    assert "電話番号の末尾を2〜15桁の数字で入力してください。" in page


def test_an_operator_sees_the_call_they_are_on(logged_in: LoggedIn, session: Session) -> None:
    call(session, operator="sato", outcome=None, at=datetime.now(JST), name="通話中 顧客")
    session.commit()
    page = logged_in("operator").get("/calls").text
    assert "対応中の通話" in page
    assert "通話中 顧客" in page
