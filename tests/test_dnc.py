"""Managing the DNC list: adding needs a reason, removing needs one too and keeps the entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialer.dnc import DncError, DncStatus, add_to_dnc, customer_dnc, remove_from_dnc, search_dnc
from dialer.models import DncEntry, DncSource
from tests.conftest import LoggedIn
from tests.factories import DEFAULT_TIME, make_customer, make_dnc_entry

NOW = DEFAULT_TIME


def add(session: Session, **fields: str | None) -> DncEntry:
    values: dict[str, str | None] = {"phone": None, "customer_external_id": None}
    values.update(fields)
    reason = values.pop("reason", None) or "電話で拒否"
    entry = add_to_dnc(
        session,
        phone=values["phone"],
        customer_external_id=values["customer_external_id"],
        reason=reason,
        source=DncSource.SUPERVISOR,
        by="kanri",
        now=NOW,
    )
    session.commit()
    return entry


def test_a_typed_number_is_stored_in_e164(session: Session) -> None:
    entry = add(session, phone="０９０－１２３４－５６７８")
    assert entry.phone == "+819012345678"
    assert (entry.added_by, entry.added_at, entry.source) == ("kanri", NOW, DncSource.SUPERVISOR)


def test_a_customer_can_be_added_without_a_number(session: Session) -> None:
    customer = make_customer(session, external_id="C-1")
    entry = add(session, customer_external_id="C-1")
    assert (entry.customer_id, entry.phone) == (customer.id, None)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"phone": "090-1234-5678", "reason": "   "}, "reason_required"),
        ({}, "key_required"),
        ({"phone": "not a number"}, "invalid_phone"),
        ({"customer_external_id": "NOBODY"}, "unknown_customer"),
        ({"phone": "090-1234-5678", "reason": "x" * 201}, "too_long"),
    ],
    ids=["no-reason", "no-key", "bad-number", "unknown-customer", "long-reason"],
)
def test_what_cannot_be_added(session: Session, fields: dict[str, str], code: str) -> None:
    with pytest.raises(DncError) as raised:
        add(session, **fields)
    assert raised.value.code == code
    session.rollback()
    assert session.query(DncEntry).count() == 0


def test_removal_keeps_the_entry_with_who_when_and_why(session: Session) -> None:
    entry = add(session, phone="090-1234-5678")
    later = NOW + timedelta(days=3)
    remove_from_dnc(session, entry.id, by="suzuki", reason="本人から再開の依頼", now=later)
    session.commit()
    kept = session.get_one(DncEntry, entry.id)
    assert (kept.removed_at, kept.removed_by, kept.removed_reason) == (
        later,
        "suzuki",
        "本人から再開の依頼",
    )
    assert not kept.is_active_at(later)


@pytest.mark.parametrize("reason", ["", "   "])
def test_removal_needs_a_reason(session: Session, reason: str) -> None:
    entry = add(session, phone="090-1234-5678")
    with pytest.raises(DncError) as raised:
        remove_from_dnc(session, entry.id, by="kanri", reason=reason, now=NOW)
    assert raised.value.code == "removal_reason_required"
    session.rollback()
    assert session.get_one(DncEntry, entry.id).removed_at is None


def test_an_entry_is_removed_once(session: Session) -> None:
    entry = add(session, phone="090-1234-5678")
    remove_from_dnc(session, entry.id, by="kanri", reason="誤登録", now=NOW)
    with pytest.raises(DncError) as raised:
        remove_from_dnc(session, entry.id, by="kanri", reason="誤登録", now=NOW)
    assert raised.value.code == "already_removed"


def test_search_by_digits_name_and_status(session: Session) -> None:
    make_customer(session, external_id="C-HANA", name="佐々木 花子", phones=["+819087654321"])
    hana = add(session, customer_external_id="C-HANA", reason="家族から依頼")
    number = add(session, phone="090-1234-5678")
    removed = add(session, phone="090-5555-6666")
    remove_from_dnc(session, removed.id, by="kanri", reason="誤登録", now=NOW)
    session.commit()

    def ids(**query: object) -> list[int]:
        page = search_dnc(session, now=NOW, **query)  # type: ignore[arg-type]
        return [row.id for row in page.rows]

    assert ids(query="5678") == [number.id]
    assert ids(query="090-1234-5678") == [number.id]
    assert ids(query="花子") == [hana.id]
    assert ids(query="家族") == [hana.id]
    assert set(ids()) == {hana.id, number.id}
    assert ids(status=DncStatus.REMOVED) == [removed.id]
    assert set(ids(status=DncStatus.ALL)) == {hana.id, number.id, removed.id}
    assert search_dnc(session, now=NOW, status=DncStatus.ALL).total == 3


def test_the_customer_page_sees_entries_by_customer_and_by_number(session: Session) -> None:
    customer = make_customer(session, phones=["+819011112222"])
    by_number = make_dnc_entry(session, phone="+819011112222")
    by_customer = make_dnc_entry(session, customer=customer)
    make_dnc_entry(session, phone="+819099999999")
    session.commit()
    assert {row.id for row in customer_dnc(session, customer.id)} == {by_number.id, by_customer.id}


# --- through the dashboard ----------------------------------------------------------------


def test_the_list_page(logged_in: LoggedIn, session: Session) -> None:
    make_dnc_entry(session, phone="+819012345678", reason="電話で拒否")
    session.commit()
    assert "090-1234-5678" in logged_in("supervisor").get("/dnc").text
    page = logged_in("operator").get("/dnc").text
    assert "電話で拒否" in page
    assert "+81 90-****-5678" in page
    assert "解除理由" not in page  # no removal form for operators


def test_an_operator_adds_but_cannot_remove(logged_in: LoggedIn, session: Session) -> None:
    client = logged_in("operator")
    response = client.post("/dnc", data={"phone": "090-1234-5678", "reason": "電話で拒否"})
    assert response.status_code == 302
    entry = session.query(DncEntry).one()
    assert (entry.source, entry.added_by) == (DncSource.OPERATOR, "sato")
    entry_id = entry.id
    session.rollback()
    response = client.post(f"/dnc/{entry_id}/remove", data={"reason": "誤登録"})
    assert response.status_code == 403
    assert session.get_one(DncEntry, entry_id).removed_at is None


def test_a_supervisor_removes_with_a_reason(logged_in: LoggedIn, session: Session) -> None:
    entry = make_dnc_entry(session, phone="+819012345678")
    session.commit()
    client = logged_in("supervisor")
    client.post(f"/dnc/{entry.id}/remove", data={"reason": ""})
    assert session.get_one(DncEntry, entry.id).removed_at is None
    session.rollback()
    assert "解除の理由を入力してください。" in client.get("/dnc").text
    client.post(f"/dnc/{entry.id}/remove", data={"reason": "本人から再開の依頼"})
    session.expire_all()
    kept = session.get_one(DncEntry, entry.id)
    assert (kept.removed_by, kept.removed_reason) == ("kanri", "本人から再開の依頼")
    session.rollback()
    page = client.get("/dnc?status=removed").text
    assert "kanri が解除" in page
    assert "本人から再開の依頼" in page


def test_adding_without_a_reason_is_explained(logged_in: LoggedIn, session: Session) -> None:
    client = logged_in("supervisor")
    client.post("/dnc", data={"phone": "090-1234-5678", "reason": " "})
    assert session.query(DncEntry).count() == 0
    session.rollback()
    assert "理由を入力してください。" in client.get("/dnc").text


def test_removing_an_unknown_entry_is_not_found(logged_in: LoggedIn) -> None:
    assert (
        logged_in("supervisor").post("/dnc/999999/remove", data={"reason": "x"}).status_code == 404
    )
