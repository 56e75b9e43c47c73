"""The schema's own guarantees, on both engines: time zones, keys, checks, cascades, JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.models import (
    Attempt,
    CallEvent,
    CallListEntry,
    CallStatus,
    Customer,
    CustomerPhone,
    DncEntry,
    DncSource,
    EntryState,
    KeyPress,
    Mailing,
    NaiveDatetimeError,
    Order,
    Subscription,
)
from tests.factories import (
    DEFAULT_TIME,
    JST,
    make_attempt,
    make_call_event,
    make_customer,
    make_dnc_entry,
    make_entry,
    make_mailing,
    make_order,
    make_refused_phone,
    make_subscription,
)

Row = TypeVar("Row")
NAIVE = datetime(2026, 11, 2, 10, 0)  # noqa: DTZ001  (the point of the tests below)


def _reloaded(session: Session, row: Row) -> Row:
    """`row` as the database returns it, after a commit."""
    session.commit()
    session.expire_all()
    return row


# Time zones


def test_aware_datetime_reads_back_as_the_same_instant_in_utc(session: Session) -> None:
    order = make_order(session, ordered_at=datetime(2026, 11, 2, 10, 0, tzinfo=JST))
    session.commit()
    session.expire_all()
    assert order.ordered_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert order.ordered_at.utcoffset() == timedelta(0)


def test_datetimes_compare_by_instant_in_queries(session: Session) -> None:
    make_order(session, ordered_at=datetime(2026, 11, 2, 10, 0, tzinfo=JST))
    session.commit()
    just_before = datetime(2026, 11, 2, 0, 59, tzinfo=UTC)
    just_after = datetime(2026, 11, 2, 10, 1, tzinfo=JST)
    found = session.scalars(
        sa.select(Order).where(Order.ordered_at > just_before, Order.ordered_at < just_after)
    ).all()
    assert len(found) == 1


def test_naive_datetime_is_refused_on_write(session: Session) -> None:
    customer = make_customer(session)
    session.add(
        Order(
            customer=customer,
            external_id="O1",
            amount=1,
            sku="X",
            ordered_at=NAIVE,
        )
    )
    with pytest.raises(sa.exc.StatementError) as caught:
        session.flush()
    assert isinstance(caught.value.orig, NaiveDatetimeError)


def test_naive_datetime_is_refused_in_a_query(session: Session) -> None:
    with pytest.raises(sa.exc.StatementError) as caught:
        session.scalars(sa.select(Order).where(Order.ordered_at < NAIVE)).all()
    assert isinstance(caught.value.orig, NaiveDatetimeError)


def test_database_set_timestamps_are_aware_utc(session: Session) -> None:
    customer = make_customer(session)
    dnc = make_dnc_entry(session, customer=customer)
    session.commit()
    session.expire_all()
    for stamp in (customer.created_at, customer.updated_at, dnc.added_at):
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


# Keys and uniqueness


def test_customer_external_id_is_unique(session: Session) -> None:
    make_customer(session, external_id="C1")
    with pytest.raises(sa.exc.IntegrityError):
        make_customer(session, external_id="C1")


def test_customer_is_on_a_campaign_list_at_most_once(session: Session) -> None:
    customer = make_customer(session)
    make_entry(session, customer, campaign_id="f2-followup")
    make_entry(session, customer, campaign_id="dormant")
    with pytest.raises(sa.exc.IntegrityError):
        make_entry(session, customer, campaign_id="f2-followup")


def test_an_entry_cannot_have_two_attempts_with_the_same_number(session: Session) -> None:
    first = make_attempt(session)
    session.add(
        Attempt(
            entry=first.entry,
            attempt_number=first.attempt_number,
            campaign_id=first.campaign_id,
            customer_id=first.customer_id,
            phone=first.phone,
            started_at=DEFAULT_TIME,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


def test_call_sid_is_unique_but_may_be_missing(session: Session) -> None:
    make_attempt(session, call_sid="CA" + "0" * 32)
    unknown = [make_attempt(session, status=None) for _ in range(2)]
    for attempt in unknown:
        attempt.call_sid = None
    session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        make_attempt(session, call_sid="CA" + "0" * 32)


def test_mailing_is_recorded_once_per_customer(session: Session) -> None:
    customer = make_customer(session)
    make_mailing(session, customer, mailing="winter-dm")
    with pytest.raises(sa.exc.IntegrityError):
        make_mailing(session, customer, mailing="winter-dm")


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(
        Order(customer_id=999_999, external_id="O1", amount=1, sku="X", ordered_at=DEFAULT_TIME)
    )
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


# Do-not-call list


def test_dnc_entry_may_name_only_a_phone(session: Session) -> None:
    assert make_dnc_entry(session, phone="+819011112222").id is not None


def test_dnc_entry_may_name_only_a_customer(session: Session) -> None:
    assert make_dnc_entry(session, customer=make_customer(session)).id is not None


def test_dnc_entry_must_name_a_phone_or_a_customer(session: Session) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        make_dnc_entry(session)


def test_dnc_removal_must_say_who_and_why(session: Session) -> None:
    entry = make_dnc_entry(session, phone="+819011112222")
    entry.removed_at = DEFAULT_TIME
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


def test_dnc_entry_is_active_until_removed_or_expired(session: Session) -> None:
    now = DEFAULT_TIME
    make_dnc_entry(session, phone="+819000000001", source=DncSource.IVR)
    make_dnc_entry(session, phone="+819000000002", expires_at=now + timedelta(days=1))
    make_dnc_entry(session, phone="+819000000003", expires_at=now)
    removed = make_dnc_entry(session, phone="+819000000004")
    removed.removed_at = now
    removed.removed_by = "supervisor-1"
    removed.removed_reason = "entered by mistake"
    session.flush()
    active = session.scalars(
        sa.select(DncEntry.phone).where(DncEntry.active_at(now)).order_by(DncEntry.phone)
    ).all()
    assert active == ["+819000000001", "+819000000002"]
    loaded = session.scalars(sa.select(DncEntry).order_by(DncEntry.phone)).all()
    assert [entry.is_active_at(now) for entry in loaded] == [True, True, False, False]


def test_customer_on_the_dnc_list_cannot_be_deleted(session: Session) -> None:
    customer = make_customer(session)
    make_dnc_entry(session, customer=customer)
    session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.delete(Customer).where(Customer.id == customer.id))


# Cascades


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_deleting_a_customer_deletes_their_rows_but_keeps_the_callback_log(
    session: Session,
) -> None:
    customer = make_customer(session)
    make_order(session, customer)
    make_subscription(session, customer)
    make_mailing(session, customer)
    attempt = make_attempt(session, make_entry(session, customer))
    session.add(KeyPress(attempt=attempt, pressed_at=DEFAULT_TIME, step="menu", digits="1"))
    event = make_call_event(session, attempt, payload={"CallSid": "CA-kept"})
    session.commit()

    session.execute(sa.delete(Customer).where(Customer.id == customer.id))
    session.commit()

    for model in (CustomerPhone, Order, Subscription, Mailing, CallListEntry, Attempt, KeyPress):
        assert _count(session, model) == 0, model.__name__
    session.expire_all()
    assert event.attempt_id is None
    assert event.payload == {"CallSid": "CA-kept"}


# Call list entries and attempts


@pytest.mark.parametrize(
    ("state", "columns"),
    [
        (EntryState.PENDING, {"next_attempt_at": None}),
        (EntryState.PENDING, {"phone": None}),
        (EntryState.IN_PROGRESS, {"phone": None}),
        (EntryState.SUPPRESSED, {"suppressed_reason": None}),
        (EntryState.RETIRED, {"closed_reason": None}),
        (EntryState.DONE, {"closed_reason": None}),
    ],
    ids=[
        "pending-without-time",
        "pending-without-phone",
        "in-progress-without-phone",
        "suppressed-without-reason",
        "retired-without-reason",
        "done-without-reason",
    ],
)
def test_entry_state_invariants_are_checked(
    session: Session, state: EntryState, columns: dict[str, object]
) -> None:
    entry = make_entry(session, state=state)
    for name, value in columns.items():
        setattr(entry, name, value)
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


def test_unknown_enum_values_are_refused_by_the_database(session: Session) -> None:
    entry = make_entry(session)
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(
            sa.text("UPDATE call_list_entries SET state = 'dialling' WHERE id = :id"),
            {"id": entry.id},
        )


def test_call_status_is_stored_as_twilio_spells_it(session: Session) -> None:
    attempt = make_attempt(session, status=CallStatus.IN_PROGRESS)
    stored = session.execute(
        sa.text("SELECT status FROM attempts WHERE id = :id"), {"id": attempt.id}
    ).scalar()
    assert stored == "in-progress"
    assert _reloaded(session, attempt).status is CallStatus.IN_PROGRESS


def test_entry_states_that_hold_a_customer() -> None:
    active = {state for state in EntryState if state.is_active}
    assert active == {EntryState.PENDING, EntryState.IN_PROGRESS}


def test_attempts_of_an_entry_come_in_order(session: Session) -> None:
    entry = make_entry(session)
    for _ in range(3):
        make_attempt(session, entry)
    session.expire_all()
    assert [attempt.attempt_number for attempt in entry.attempts] == [1, 2, 3]
    assert entry.attempt_count == 3


# Phones


def test_customer_dials_the_first_number_that_is_not_refused(session: Session) -> None:
    customer = make_customer(session, phones=[])
    make_refused_phone(session, customer)
    assert customer.dialable_phone is None
    session.add(
        CustomerPhone(customer=customer, preference=2, raw="090-1111-2222", e164="+819011112222")
    )
    session.flush()
    session.expire_all()
    assert customer.dialable_phone == "+819011112222"


def test_a_phone_is_either_parsed_or_refused(session: Session) -> None:
    session.add(CustomerPhone(customer=make_customer(session, phones=[]), preference=1, raw="??"))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


# Callback log


def test_callback_payload_round_trips_japanese_text(session: Session) -> None:
    payload = {
        "CallSid": "CA" + "1" * 32,
        "CallStatus": "completed",
        "SpeechResult": "もう電話しないでください",
        "nested": {"顧客": ["山田 太郎", "ヤマダ タロウ"], "score": 5, "ok": True},
    }
    event = make_call_event(session, payload=payload)
    assert _reloaded(session, event).payload == payload
    found = session.scalars(sa.select(CallEvent).where(CallEvent.id == event.id)).one()
    assert found.payload["nested"]["顧客"][0] == "山田 太郎"
