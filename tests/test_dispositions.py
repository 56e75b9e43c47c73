"""Operator dispositions: what each one does to the call list entry, the DNC list and 成約率."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.calendar import is_callable
from dialer.campaigns import Config, calling_rules
from dialer.dispositions import (
    CALLBACK_MIN_DELAY,
    CALLBACK_OUTCOME,
    DNC_REASON,
    Disposition,
    DispositionError,
    record_disposition,
)
from dialer.kpis import overview
from dialer.lists import BuildResult, build_list
from dialer.models import (
    Attempt,
    CallListEntry,
    CallStatus,
    Customer,
    DncEntry,
    DncSource,
    EntryState,
)
from dialer.outcome_codes import ClosedReason, Outcome
from dialer.outcomes import finish_attempt
from dialer.suppression import SuppressionReason
from tests.factories import (
    DEFAULT_TIME,
    IVR_CAMPAIGNS_YAML,
    JST,
    make_attempt,
    make_config,
    make_customer,
    make_entry,
    make_lists_config,
)

CONFIG = make_lists_config(IVR_CAMPAIGNS_YAML)
CAMPAIGN = "f2-followup"
OTHER = "repeat"
#: Monday 2026-11-02 10:00 in Tokyo; the call ended at 10:05.
CALLED = DEFAULT_TIME
NOW = CALLED + timedelta(minutes=5)


def answered_call(session: Session, *, live: bool = False, campaign_id: str = CAMPAIGN) -> Attempt:
    """A call a person answered: still on the line (`live`), or ended, its entry closed as
    `reached` as `finish_attempt` leaves it."""
    entry = make_entry(
        session,
        campaign_id=campaign_id,
        state=EntryState.IN_PROGRESS if live else EntryState.DONE,
        next_attempt_at=None,
    )
    attempt = make_attempt(
        session,
        entry,
        started_at=CALLED,
        status=CallStatus.IN_PROGRESS if live else CallStatus.COMPLETED,
        outcome=None if live else Outcome.HUMAN.value,
        ended_at=None if live else NOW,
    )
    attempt.answered_by = "human"
    session.commit()
    return attempt


def record(
    session: Session,
    attempt: Attempt,
    disposition: Disposition | str,
    *,
    config: Config = CONFIG,
    now: datetime = NOW,
    **options: object,
) -> None:
    with session.begin():
        record_disposition(session, config, attempt.id, disposition, by="sato", now=now, **options)


def entry_of(session: Session, attempt: Attempt) -> CallListEntry:
    """The entry as stored now (the read's transaction is ended, its values kept)."""
    session.expire_all()
    entry = session.get_one(CallListEntry, attempt.entry_id)
    session.commit()
    return entry


def error_code(session: Session, attempt: Attempt, disposition: str, **options: object) -> str:
    with pytest.raises(DispositionError) as raised:
        record(session, attempt, disposition, **options)
    return raised.value.code


def list_other_campaign_for(session: Session, customer_id: int) -> BuildResult:
    """Build another campaign's list a month later, with this customer its one member."""
    return build_list(
        session,
        CONFIG,
        OTHER,
        now=NOW + timedelta(days=30),
        members=lambda _config, _campaign, _now: sa.select(sa.literal(customer_id), sa.literal(1)),
    )


CLOSING = [
    (Disposition.REACHED, ClosedReason.REACHED),
    (Disposition.CONVERTED, ClosedReason.CONVERTED),
    (Disposition.RETAINED_SKIP, ClosedReason.RETAINED),
    (Disposition.RETAINED_LONGER_CYCLE, ClosedReason.RETAINED),
    (Disposition.RETAINED_SMALLER_SIZE, ClosedReason.RETAINED),
    (Disposition.RETAINED_PAUSE, ClosedReason.RETAINED),
    (Disposition.CANCELLED_AS_REQUESTED, ClosedReason.CANCELLED_AS_REQUESTED),
    (Disposition.WRONG_PERSON, ClosedReason.WRONG_PERSON),
    (Disposition.REFUSED, ClosedReason.REFUSED),
]


def test_the_stored_vocabulary_never_changes() -> None:
    assert [d.value for d in Disposition] == [
        "reached",
        "converted",
        "retained_skip",
        "retained_longer_cycle",
        "retained_smaller_size",
        "retained_pause",
        "cancelled_as_requested",
        "refused",
        "wrong_person",
        "callback",
    ]


@pytest.mark.parametrize(("disposition", "reason"), CLOSING, ids=[d.value for d, _ in CLOSING])
def test_each_disposition_after_the_call_closes_the_entry_with_its_reason(
    session: Session, disposition: Disposition, reason: ClosedReason
) -> None:
    attempt = answered_call(session)
    record(session, attempt, disposition, note=" 次回はお昼過ぎに ")

    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason, entry.closed_at) == (EntryState.DONE, reason, NOW)
    assert entry.next_attempt_at is None
    stored = session.get_one(Attempt, attempt.id)
    assert (stored.disposition, stored.dispositioned_by, stored.operator_id) == (
        disposition.value,
        "sato",
        "sato",
    )
    assert stored.dispositioned_at == NOW
    assert stored.notes == "次回はお昼過ぎに"
    assert stored.callback_at is None


def test_a_disposition_during_the_call_is_kept_when_the_call_ends(session: Session) -> None:
    attempt = answered_call(session, live=True)
    record(session, attempt, Disposition.CONVERTED)
    assert entry_of(session, attempt).state is EntryState.DONE

    with session.begin():
        ended = session.get_one(Attempt, attempt.id)
        ended.status = CallStatus.COMPLETED
        finish_attempt(session, CONFIG, ended, outcome=Outcome.HUMAN, error_code=None, now=NOW)

    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.CONVERTED)
    assert entry.last_outcome == Outcome.HUMAN


def test_cancelled_as_requested_is_accepted_even_when_the_entry_has_moved_on(
    session: Session,
) -> None:
    """特定商取引法 第13条の2: the cancellation is recorded whatever the list says."""
    attempt = answered_call(session)
    with session.begin():
        entry = session.get_one(CallListEntry, attempt.entry_id)
        entry.closed_reason = ClosedReason.MAX_ATTEMPTS
    record(session, attempt, Disposition.CANCELLED_AS_REQUESTED)

    assert session.get_one(Attempt, attempt.id).disposition == "cancelled_as_requested"
    assert entry_of(session, attempt).closed_reason == ClosedReason.MAX_ATTEMPTS


def test_refused_adds_to_dnc_and_a_later_list_build_suppresses_the_customer(
    session: Session,
) -> None:
    attempt = answered_call(session)
    record(session, attempt, Disposition.REFUSED)

    dnc = session.scalars(sa.select(DncEntry)).one()
    assert (dnc.customer_id, dnc.phone, dnc.source, dnc.added_by, dnc.reason) == (
        attempt.customer_id,
        attempt.phone,
        DncSource.OPERATOR,
        "sato",
        DNC_REASON,
    )
    assert dnc.added_at == NOW
    assert dnc.is_active_at(NOW + timedelta(days=3650))

    customer_id = attempt.customer_id
    session.commit()
    result = list_other_campaign_for(session, customer_id)
    assert result.suppressed[SuppressionReason.DNC] == 1
    listed = session.scalars(
        sa.select(CallListEntry).where(
            CallListEntry.campaign_id == OTHER, CallListEntry.customer_id == customer_id
        )
    ).one()
    assert listed.state is EntryState.SUPPRESSED


def test_wrong_person_marks_the_number_not_the_customers_for_every_campaign(
    session: Session,
) -> None:
    """Someone else answered: no campaign calls this customer at this number again, while
    another customer with the same line (a family's landline) may still be called on it."""
    attempt = answered_call(session)
    with session.begin():
        customer = session.get_one(Customer, attempt.customer_id)
        family = make_customer(session, phones=[attempt.phone])
    record(session, attempt, Disposition.WRONG_PERSON)

    with session.begin():
        session.refresh(customer)
        session.refresh(family)
        assert [phone.refusal_reason for phone in customer.phones] == ["wrong_number"]
        assert customer.dialable_phone is None
        assert family.dialable_phone == attempt.phone
        customer_id = customer.id
    result = list_other_campaign_for(session, customer_id)
    assert result.suppressed[SuppressionReason.NO_DIALABLE_PHONE] == 1


def test_refused_closes_an_entry_whose_newer_call_is_live(session: Session) -> None:
    """Refusal is final: it is not held back by a call that started after this one."""
    attempt = answered_call(session)
    with session.begin():
        entry = session.get_one(CallListEntry, attempt.entry_id)
        entry.state, entry.closed_reason, entry.closed_at = EntryState.IN_PROGRESS, None, None
        make_attempt(session, entry, started_at=CALLED + timedelta(hours=3))
    record(session, attempt, Disposition.REFUSED)

    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.REFUSED)


def test_refusing_twice_through_two_calls_adds_one_dnc_row(session: Session) -> None:
    first = answered_call(session)
    with session.begin():
        entry = session.get_one(CallListEntry, first.entry_id)
        second = make_attempt(session, entry, status=CallStatus.COMPLETED, outcome="human")
    record(session, first, Disposition.REFUSED)
    record(session, second, Disposition.REFUSED)
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 1


# --- callbacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "due"),
    [
        pytest.param(datetime(2026, 11, 2, 15, 0, tzinfo=JST), None, id="open-time-kept"),
        pytest.param(
            datetime(2026, 11, 2, 12, 20, tzinfo=JST),
            datetime(2026, 11, 2, 13, 0, tzinfo=JST),
            id="lunch-break-to-13h",
        ),
        pytest.param(
            datetime(2026, 11, 3, 10, 30, tzinfo=JST),
            datetime(2026, 11, 4, 10, 0, tzinfo=JST),
            id="bunka-no-hi-to-next-day",
        ),
        pytest.param(
            NOW + timedelta(minutes=5),
            NOW + CALLBACK_MIN_DELAY,
            id="not-while-still-on-the-line",
        ),
        pytest.param(
            datetime(2026, 11, 7, 18, 0, tzinfo=JST),
            datetime(2026, 11, 9, 10, 0, tzinfo=JST),
            id="saturday-evening-to-monday",
        ),
    ],
)
def test_callback_reschedules_at_the_first_open_instant_from_the_time_asked(
    session: Session, asked: datetime, due: datetime | None
) -> None:
    attempt = answered_call(session)
    record(session, attempt, Disposition.CALLBACK, callback_at=asked)

    entry = entry_of(session, attempt)
    expected = due or asked
    assert entry.state is EntryState.PENDING
    assert entry.next_attempt_at == expected
    assert (entry.closed_reason, entry.closed_at) == (None, None)
    assert entry.last_outcome == CALLBACK_OUTCOME
    assert is_callable(calling_rules(CONFIG, CAMPAIGN), expected)
    stored = session.get_one(Attempt, attempt.id)
    assert (stored.disposition, stored.callback_at) == ("callback", asked)


def test_callback_during_the_call_survives_the_end_of_the_call(session: Session) -> None:
    attempt = answered_call(session, live=True)
    asked = datetime(2026, 11, 4, 14, 0, tzinfo=JST)
    record(session, attempt, Disposition.CALLBACK, callback_at=asked)
    with session.begin():
        ended = session.get_one(Attempt, attempt.id)
        finish_attempt(session, CONFIG, ended, outcome=Outcome.HUMAN, error_code=None, now=NOW)
    entry = entry_of(session, attempt)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, asked)


def test_callback_needs_a_time(session: Session) -> None:
    attempt = answered_call(session)
    assert error_code(session, attempt, "callback") == "callback_time_required"


def test_callback_in_the_past_is_refused_and_changes_nothing(session: Session) -> None:
    attempt = answered_call(session)
    code = error_code(session, attempt, "callback", callback_at=NOW - timedelta(minutes=1))
    assert code == "callback_in_past"
    entry = entry_of(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.REACHED)
    assert session.get_one(Attempt, attempt.id).disposition is None


@pytest.mark.parametrize(
    "asked",
    [
        pytest.param(datetime(2026, 12, 1, 10, 0, tzinfo=JST), id="after-the-last-day"),
        pytest.param(datetime(2026, 11, 30, 19, 30, tzinfo=JST), id="after-the-last-window"),
    ],
)
def test_callback_beyond_the_campaigns_end_is_refused(session: Session, asked: datetime) -> None:
    config = make_config(campaign=CAMPAIGN, dates=(date(2026, 11, 1), date(2026, 11, 30)))
    attempt = answered_call(session)
    code = error_code(session, attempt, "callback", callback_at=asked, config=config)
    assert code == "callback_after_campaign"


def test_callback_cannot_reopen_an_entry_closed_for_another_reason(session: Session) -> None:
    attempt = answered_call(session)
    with session.begin():
        session.get_one(CallListEntry, attempt.entry_id).closed_reason = ClosedReason.OPTED_OUT
    asked = datetime(2026, 11, 4, 14, 0, tzinfo=JST)
    assert error_code(session, attempt, "callback", callback_at=asked) == "entry_closed"
    assert entry_of(session, attempt).closed_reason == ClosedReason.OPTED_OUT


# --- what is refused ---------------------------------------------------------------------------


def test_a_second_disposition_for_the_same_call_is_refused(session: Session) -> None:
    attempt = answered_call(session)
    record(session, attempt, Disposition.CONVERTED)
    assert error_code(session, attempt, "converted") == "already_recorded"
    assert error_code(session, attempt, "refused") == "already_recorded"
    assert session.get_one(Attempt, attempt.id).disposition == "converted"
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 0


@pytest.mark.parametrize("outcome", ["no-answer", "machine", "busy"])
def test_a_call_nobody_talked_in_cannot_be_dispositioned(session: Session, outcome: str) -> None:
    attempt = answered_call(session)
    with session.begin():
        session.get_one(Attempt, attempt.id).outcome = outcome
    assert error_code(session, attempt, "reached") == "not_answered"


def test_unknown_dispositions_and_calls_are_refused(session: Session) -> None:
    attempt = answered_call(session)
    assert error_code(session, attempt, "maybe_later") == "unknown_disposition"
    with pytest.raises(DispositionError) as raised, session.begin():
        record_disposition(session, CONFIG, 999_999, "reached", by="sato", now=NOW)
    assert raised.value.code == "not_found"


def test_an_overlong_note_is_refused(session: Session) -> None:
    attempt = answered_call(session)
    assert error_code(session, attempt, "reached", note="あ" * 2001) == "note_too_long"


def test_a_late_disposition_leaves_an_entry_that_a_newer_call_moved(session: Session) -> None:
    attempt = answered_call(session)
    later = CALLED + timedelta(days=1)
    with session.begin():
        entry = session.get_one(CallListEntry, attempt.entry_id)
        entry.state, entry.closed_reason = EntryState.PENDING, None
        entry.next_attempt_at = later
        make_attempt(session, entry, started_at=CALLED + timedelta(hours=1), outcome="busy")
    record(session, attempt, Disposition.CONVERTED)
    entry = entry_of(session, attempt)
    assert (entry.state, entry.next_attempt_at) == (EntryState.PENDING, later)
    assert session.get_one(Attempt, attempt.id).disposition == "converted"


# --- 成約率 ------------------------------------------------------------------------------------


def test_converted_and_retained_count_towards_the_conversion_rate(session: Session) -> None:
    dispositions = [
        Disposition.CONVERTED,
        Disposition.RETAINED_PAUSE,
        Disposition.CANCELLED_AS_REQUESTED,
        Disposition.REACHED,
    ]
    for disposition in dispositions:
        record(session, answered_call(session), disposition)

    row = next(
        row for row in overview(session, CONFIG, now=NOW).rows if row.campaign_id == CAMPAIGN
    )
    assert (row.today.human, row.today.conversions) == (4, 2)
    assert row.today.conversion_rate == 0.5
