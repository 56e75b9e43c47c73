"""The suppression rules: each reason with the data behind it, and their precedence.

Each test judges a few customers for one campaign with the set-based query the list build
runs (`suppression_query`), and checks the evidence `dialer why` shows for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.models import Customer, DncSource, EntryState
from dialer.suppression import (
    PRECEDENCE,
    SuppressionReason,
    suppression_context,
    suppression_query,
    suppression_reasons,
)
from dialer.suppression_evidence import (
    ConsentState,
    DncMatch,
    HoldingEntry,
    PhoneOnFile,
    RecentContact,
    RefusalHow,
    RefusalRecord,
    Suppression,
    WeeklyAttempts,
    explain_suppressions,
)
from tests.factories import (
    JST,
    make_customer,
    make_dialled_attempt,
    make_dnc_entry,
    make_entry,
    make_key_press,
    make_lists_config,
    make_refused_phone,
)

#: A Friday morning, inside every window of the test campaigns.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=JST)
F2 = "f2-followup"


@pytest.fixture
def config() -> Config:
    return make_lists_config()


def reasons_for(
    session: Session, config: Config, campaign_id: str, *customers: Customer
) -> dict[int, str]:
    """customer id → reason, as the list build computes it (absent: not suppressed)."""
    session.commit()
    ctx = suppression_context(config, campaign_id, now=NOW)
    candidates = sa.select(Customer.id).where(Customer.id.in_([c.id for c in customers]))
    return {
        row.customer_id: row.reason for row in session.execute(suppression_query(candidates, ctx))
    }


def explained(
    session: Session, config: Config, campaign_id: str, customer: Customer
) -> list[Suppression]:
    session.commit()
    ctx = suppression_context(config, campaign_id, now=NOW)
    found = explain_suppressions(session.connection(), ctx, [customer.id])
    return found.get(customer.id, [])


def test_customer_with_nothing_against_them_is_not_suppressed(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    assert reasons_for(session, config, F2, customer) == {}
    assert explained(session, config, F2, customer) == []


def test_dnc_entry_naming_the_customer_suppresses_with_the_entry(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    added = NOW - timedelta(days=30)
    entry = make_dnc_entry(session, customer=customer, reason="もう電話しないで", added_at=added)

    assert reasons_for(session, config, F2, customer) == {customer.id: "dnc"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.reason is SuppressionReason.DNC
    assert suppression.until is None
    assert suppression.evidence == (
        DncMatch(entry.id, "customer", None, "もう電話しないで", DncSource.IMPORT, added, None),
    )


def test_dnc_entry_naming_any_of_the_customers_numbers_suppresses(
    session: Session, config: Config
) -> None:
    customer = make_customer(session, phones=["+819011110001", "+819011110002"])
    make_dnc_entry(session, phone="+819011110002", reason="番号で登録")

    assert reasons_for(session, config, F2, customer) == {customer.id: "dnc"}
    [suppression] = explained(session, config, F2, customer)
    [match] = suppression.evidence
    assert isinstance(match, DncMatch)
    assert (match.matched_by, match.phone) == ("phone", "+819011110002")


@pytest.mark.parametrize("lifted", ["removed", "expired"])
def test_lifted_dnc_entry_no_longer_suppresses(
    session: Session, config: Config, lifted: str
) -> None:
    customer = make_customer(session)
    entry = make_dnc_entry(session, customer=customer, expires_at=NOW + timedelta(days=1))
    if lifted == "removed":
        entry.removed_at, entry.removed_by, entry.removed_reason = NOW, "sv01", "本人の依頼"
    else:
        entry.expires_at = NOW
    assert reasons_for(session, config, F2, customer) == {}


def test_dnc_entry_with_expiry_says_when_it_lifts(session: Session, config: Config) -> None:
    customer = make_customer(session)
    expiry = NOW + timedelta(days=10)
    make_dnc_entry(session, customer=customer, expires_at=expiry)

    [suppression] = explained(session, config, F2, customer)
    assert suppression.until == expiry


@pytest.mark.parametrize(
    ("record", "how", "detail"),
    [
        ("disposition", "attempt", "refused"),
        ("outcome", "attempt", "opted_out"),
        ("key_press", "key_press", "9"),
        ("closed_entry", "closed_entry", "refused"),
    ],
)
def test_refusal_recorded_by_any_campaign_suppresses(
    session: Session, config: Config, record: str, how: RefusalHow, detail: str
) -> None:
    customer = make_customer(session)
    at = NOW - timedelta(days=40)
    if record == "disposition":
        make_dialled_attempt(
            session, customer, campaign_id="repeat", started_at=at, disposition="refused"
        )
    elif record == "outcome":
        make_dialled_attempt(
            session, customer, campaign_id="repeat", started_at=at, outcome="opted_out"
        )
    elif record == "key_press":
        attempt = make_dialled_attempt(session, customer, campaign_id="repeat", started_at=at)
        make_key_press(session, attempt, pressed_at=at)
    else:
        entry = make_entry(session, customer, campaign_id="repeat", state=EntryState.DONE)
        entry.closed_reason, entry.closed_at = "refused", at

    assert reasons_for(session, config, F2, customer) == {customer.id: "refused"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.reason is SuppressionReason.REFUSED
    assert suppression.evidence == (RefusalRecord(how, "repeat", at, detail),)


@pytest.mark.parametrize("opt_in", [None, False])
def test_campaign_requiring_consent_suppresses_customers_without_it(
    session: Session, config: Config, opt_in: bool | None
) -> None:
    customer = make_customer(session, opt_in=opt_in)

    assert reasons_for(session, config, "consent-only", customer) == {customer.id: "no_consent"}
    assert reasons_for(session, config, F2, customer) == {}
    [suppression] = explained(session, config, "consent-only", customer)
    assert suppression.evidence == (ConsentState(opt_in),)


def test_consented_customer_passes_a_campaign_requiring_consent(
    session: Session, config: Config
) -> None:
    customer = make_customer(session, opt_in=True)
    assert reasons_for(session, config, "consent-only", customer) == {}


def test_customer_whose_numbers_are_all_refused_has_no_dialable_phone(
    session: Session, config: Config
) -> None:
    customer = make_customer(session, phones=[])
    make_refused_phone(session, customer, refusal_reason="toll_free")

    assert reasons_for(session, config, F2, customer) == {customer.id: "no_dialable_phone"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.evidence == (
        PhoneOnFile("0120-123-456", "+81120123456", "toll_free", "toll_free"),
    )


def test_customer_without_any_number_has_no_dialable_phone(
    session: Session, config: Config
) -> None:
    customer = make_customer(session, phones=[])

    assert reasons_for(session, config, F2, customer) == {customer.id: "no_dialable_phone"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.evidence == ()


def test_customer_reached_by_another_campaign_within_cooldown_waits(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    contacted = NOW - timedelta(days=2)
    make_dialled_attempt(
        session, customer, campaign_id="repeat", started_at=contacted, answered_by="human"
    )

    assert reasons_for(session, config, F2, customer) == {customer.id: "cooldown"}
    [suppression] = explained(session, config, F2, customer)
    until = contacted + timedelta(days=7)
    assert suppression.evidence == (RecentContact("repeat", contacted, timedelta(days=7), until),)
    assert suppression.until == until


@pytest.mark.parametrize(
    ("campaign_id", "days_ago", "answered_by"),
    [
        pytest.param("repeat", 8, "human", id="before-the-cooldown"),
        pytest.param("repeat", 1, "machine_start", id="answering-machine"),
        pytest.param(F2, 1, "human", id="own-campaign-callback"),
    ],
)
def test_contacts_that_do_not_start_a_cooldown(
    session: Session, config: Config, campaign_id: str, days_ago: int, answered_by: str
) -> None:
    customer = make_customer(session)
    make_dialled_attempt(
        session,
        customer,
        campaign_id=campaign_id,
        started_at=NOW - timedelta(days=days_ago),
        answered_by=answered_by,
        entry_state=EntryState.PENDING,
    )
    assert reasons_for(session, config, F2, customer) == {}


def test_operator_disposition_counts_as_reached(session: Session, config: Config) -> None:
    customer = make_customer(session)
    make_dialled_attempt(
        session,
        customer,
        campaign_id="repeat",
        started_at=NOW - timedelta(hours=3),
        disposition="callback_later",
    )
    assert reasons_for(session, config, F2, customer) == {customer.id: "cooldown"}


def test_weekly_cap_counts_the_attempts_of_every_campaign(session: Session, config: Config) -> None:
    customer = make_customer(session)
    starts = [NOW - timedelta(days=6), NOW - timedelta(days=3), NOW - timedelta(hours=2)]
    make_dialled_attempt(session, customer, campaign_id="repeat", started_at=starts[0])
    make_dialled_attempt(session, customer, campaign_id="repeat", started_at=starts[1])
    make_dialled_attempt(
        session, customer, campaign_id=F2, started_at=starts[2], entry_state=EntryState.PENDING
    )

    assert reasons_for(session, config, F2, customer) == {customer.id: "weekly_cap"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.evidence == (WeeklyAttempts(3, 3, starts[0] + timedelta(days=7)),)


def test_attempts_given_back_unplaced_do_not_count_towards_the_cap(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    for hours in (30, 20, 10):
        unplaced = make_dialled_attempt(
            session, customer, campaign_id="repeat", started_at=NOW - timedelta(hours=hours)
        )
        unplaced.call_sid, unplaced.status, unplaced.outcome = None, None, "canceled"
    assert reasons_for(session, config, F2, customer) == {}
    assert explained(session, config, F2, customer) == []


def test_attempts_older_than_a_week_do_not_count_towards_the_cap(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    for days in (8, 3, 1):
        make_dialled_attempt(
            session, customer, campaign_id="repeat", started_at=NOW - timedelta(days=days)
        )
    assert reasons_for(session, config, F2, customer) == {}


def test_active_entry_of_a_higher_priority_campaign_holds_the_customer(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    holder = make_entry(session, customer, campaign_id="cancel-save")

    assert reasons_for(session, config, F2, customer) == {customer.id: "higher_priority"}
    [suppression] = explained(session, config, F2, customer)
    assert suppression.evidence == (HoldingEntry("cancel-save", 90, holder.id, "pending"),)


@pytest.mark.parametrize(
    ("campaign_id", "state"),
    [
        pytest.param("repeat", EntryState.PENDING, id="lower-priority"),
        pytest.param("cancel-save", EntryState.DONE, id="higher-but-done"),
        pytest.param("cancel-save", EntryState.SUPPRESSED, id="higher-but-suppressed"),
        pytest.param("paused", EntryState.PENDING, id="higher-but-disabled"),
        pytest.param("finished", EntryState.IN_PROGRESS, id="higher-but-ended"),
    ],
)
def test_entries_that_do_not_hold_the_customer(
    session: Session, config: Config, campaign_id: str, state: EntryState
) -> None:
    customer = make_customer(session)
    make_entry(session, customer, campaign_id=campaign_id, state=state)
    assert reasons_for(session, config, F2, customer) == {}


def test_between_equal_priorities_the_older_entry_holds(session: Session, config: Config) -> None:
    customer = make_customer(session)
    make_entry(session, customer, campaign_id="twin-a")
    make_entry(session, customer, campaign_id="twin-b")

    assert reasons_for(session, config, "twin-a", customer) == {}
    assert reasons_for(session, config, "twin-b", customer) == {customer.id: "higher_priority"}


def test_equal_priority_entry_holds_a_customer_not_yet_on_the_list(
    session: Session, config: Config
) -> None:
    customer = make_customer(session)
    make_entry(session, customer, campaign_id="twin-b")
    assert reasons_for(session, config, "twin-a", customer) == {customer.id: "higher_priority"}


def test_equal_priority_rule_judges_each_customer_of_a_batch_on_its_own(
    session: Session, config: Config
) -> None:
    held, free, both = (make_customer(session) for _ in range(3))
    make_entry(session, held, campaign_id="twin-a")
    make_entry(session, both, campaign_id="twin-a")
    make_entry(session, both, campaign_id="twin-b")
    make_entry(session, free, campaign_id="twin-b")

    assert reasons_for(session, config, "twin-b", held, free, both) == {
        held.id: "higher_priority",
        both.id: "higher_priority",
    }


def test_precedence_runs_from_lasting_reasons_to_passing_ones() -> None:
    assert [reason.value for reason in PRECEDENCE] == [
        "dnc",
        "refused",
        "no_consent",
        "no_dialable_phone",
        "cooldown",
        "weekly_cap",
        "higher_priority",
    ]


def test_first_rule_in_precedence_order_is_the_reason(session: Session, config: Config) -> None:
    customer = make_customer(session, opt_in=None)
    make_dialled_attempt(
        session,
        customer,
        campaign_id="cancel-save",
        started_at=NOW - timedelta(days=1),
        answered_by="human",
        entry_state=EntryState.PENDING,
    )
    make_dnc_entry(session, customer=customer)

    assert reasons_for(session, config, "consent-only", customer) == {customer.id: "dnc"}
    assert [s.reason.value for s in explained(session, config, "consent-only", customer)] == [
        "dnc",
        "no_consent",
        "cooldown",
        "higher_priority",
    ]


def test_dial_time_check_agrees_with_the_list_build(session: Session, config: Config) -> None:
    clear = make_customer(session)
    refused = make_customer(session)
    make_dialled_attempt(session, refused, campaign_id="repeat", disposition="refused")
    session.commit()

    ctx = suppression_context(config, F2, now=NOW)
    found = suppression_reasons(session.connection(), ctx, [clear.id, refused.id])
    assert found == {refused.id: SuppressionReason.REFUSED}


def test_every_reason_has_a_japanese_and_an_english_label() -> None:
    for reason in SuppressionReason:
        assert reason.label_ja and reason.label_en
