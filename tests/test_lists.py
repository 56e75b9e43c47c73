"""The call-list build: new members, kept entries, suppression, retirement and revival."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.errors import DialerError
from dialer.lists import LEFT_SEGMENT, BuildResult, Skipped, build_all, build_list
from dialer.models import (
    CallListEntry,
    Customer,
    CustomerPhone,
    EntryState,
    Order,
    SubscriptionStatus,
)
from dialer.suppression import SuppressionReason
from tests.factories import (
    JST,
    make_customer,
    make_dialled_attempt,
    make_dnc_entry,
    make_entry,
    make_lists_config,
    make_order,
    make_refused_phone,
    make_subscription,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=JST)
F2 = "f2-followup"


@pytest.fixture
def config() -> Config:
    return make_lists_config()


def build(
    session: Session, config: Config, campaign_id: str = F2, now: datetime = NOW
) -> BuildResult:
    session.commit()
    return build_list(session, config, campaign_id, now=now)


def entries(session: Session, campaign_id: str = F2) -> dict[str, dict[str, Any]]:
    """The campaign's entries as stored, by the customer's external id."""
    session.commit()
    query = (
        sa.select(Customer.external_id, CallListEntry.__table__)
        .join(Customer, Customer.id == CallListEntry.customer_id)
        .where(CallListEntry.campaign_id == campaign_id)
    )
    rows = {row["external_id"]: dict(row) for row in session.execute(query).mappings()}
    session.commit()
    return rows


def all_entries(session: Session) -> list[dict[str, Any]]:
    session.commit()
    query = sa.select(CallListEntry.__table__).order_by(CallListEntry.id)
    rows = [dict(row) for row in session.execute(query).mappings()]
    session.commit()
    return rows


def one_time_buyer(session: Session, amount: int = 3980, **customer: Any) -> Customer:
    """A customer with one order: a member of the F2 follow-up segment."""
    buyer = make_customer(session, **customer)
    make_order(session, buyer, amount=amount, ordered_at=NOW - timedelta(days=20))
    return buyer


def test_members_join_the_list_pending_in_the_segments_order(
    session: Session, config: Config
) -> None:
    small = one_time_buyer(session, 3000, external_id="SMALL")
    one_time_buyer(session, 9000, external_id="LARGE")
    one_time_buyer(session, 5000, external_id="MIDDLE")
    repeater = one_time_buyer(session, external_id="REPEATER")
    make_order(session, repeater)

    result = build(session, config)

    listed = entries(session)
    assert {key: row["priority"] for key, row in listed.items()} == {
        "LARGE": 3,
        "MIDDLE": 2,
        "SMALL": 1,
    }
    assert all(row["state"] is EntryState.PENDING for row in listed.values())
    assert listed["SMALL"]["phone"] == small.phones[0].e164
    assert listed["SMALL"]["next_attempt_at"] == NOW
    assert listed["SMALL"]["attempt_count"] == 0
    assert (result.in_segment, result.new, result.pending) == (3, 3, 3)


def test_new_entries_are_due_at_the_campaigns_next_open_instant(
    session: Session, config: Config
) -> None:
    one_time_buyer(session, external_id="BUYER")
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=JST)

    result = build(session, config, now=sunday)

    # Monday 23 November is 勤労感謝の日: the first open instant is Tuesday at 10:00.
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
    assert result.due_at == tuesday
    assert entries(session)["BUYER"]["next_attempt_at"] == tuesday


def test_suppressed_members_are_listed_with_their_reason(session: Session, config: Config) -> None:
    one_time_buyer(session, external_id="CLEAR")
    make_dnc_entry(session, customer=one_time_buyer(session, external_id="DNC"))
    one_time_buyer(session, external_id="NO-PHONE", phones=[])

    result = build(session, config)

    listed = entries(session)
    assert {key: (row["state"], row["suppressed_reason"]) for key, row in listed.items()} == {
        "CLEAR": (EntryState.PENDING, None),
        "DNC": (EntryState.SUPPRESSED, "dnc"),
        "NO-PHONE": (EntryState.SUPPRESSED, "no_dialable_phone"),
    }
    assert result.pending == 1
    assert result.suppressed[SuppressionReason.DNC] == 1
    assert result.suppressed[SuppressionReason.NO_DIALABLE_PHONE] == 1
    assert result.suppressed_total == 2
    assert list(result.suppressed) == list(SuppressionReason)


def test_rebuilding_changes_nothing(session: Session, config: Config) -> None:
    for amount in (3000, 4000, 5000):
        one_time_buyer(session, amount)
    make_dnc_entry(session, customer=one_time_buyer(session))
    first = build(session, config)
    before = all_entries(session)

    second = build(session, config)

    assert all_entries(session) == before
    assert (second.new, second.kept, second.retired, second.revived, second.unsuppressed) == (
        0,
        4,
        0,
        0,
        0,
    )
    assert (second.suppressed, second.pending) == (first.suppressed, first.pending)


def test_entry_with_attempts_survives_leaving_the_segment(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="CALLED")
    build(session, config)
    make_dialled_attempt(
        session,
        session.get_one(Customer, buyer.id),
        campaign_id=F2,
        started_at=NOW - timedelta(hours=1),
        outcome="no-answer",
    )
    make_order(session, session.get_one(Customer, buyer.id))

    result = build(session, config)

    entry = entries(session)["CALLED"]
    assert (entry["state"], entry["attempt_count"], entry["last_outcome"]) == (
        EntryState.PENDING,
        1,
        "no-answer",
    )
    assert (result.in_segment, result.kept_outside, result.retired) == (0, 1, 0)


def test_member_who_leaves_before_being_dialled_is_retired_and_revived_on_return(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="BUYER")
    build(session, config)
    second_order = make_order(session, session.get_one(Customer, buyer.id))

    left = build(session, config)
    retired = entries(session)["BUYER"]
    session.delete(session.get_one(Order, second_order.id))
    back = build(session, config)

    assert left.retired == 1
    assert (retired["state"], retired["closed_reason"], retired["closed_at"]) == (
        EntryState.RETIRED,
        LEFT_SEGMENT,
        NOW,
    )
    revived = entries(session)["BUYER"]
    assert back.revived == 1
    assert (revived["state"], revived["closed_reason"], revived["closed_at"]) == (
        EntryState.PENDING,
        None,
        None,
    )


@pytest.mark.parametrize("lifted", ["removed", "expired"])
def test_suppressed_entry_returns_to_pending_when_the_dnc_entry_lifts(
    session: Session, config: Config, lifted: str
) -> None:
    buyer = one_time_buyer(session, external_id="BUYER")
    dnc = make_dnc_entry(session, customer=buyer, expires_at=NOW + timedelta(days=1))
    build(session, config)
    later = NOW
    if lifted == "removed":
        dnc.removed_at, dnc.removed_by, dnc.removed_reason = NOW, "sv01", "登録誤り"
    else:
        later = NOW + timedelta(days=4)

    result = build(session, config, now=later)

    entry = entries(session)["BUYER"]
    assert (entry["state"], entry["suppressed_reason"]) == (EntryState.PENDING, None)
    assert entry["next_attempt_at"] is not None
    assert (result.unsuppressed, result.pending) == (1, 1)


def test_pending_entry_is_suppressed_when_a_rule_starts(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="BUYER")
    build(session, config)
    make_dnc_entry(session, customer=session.get_one(Customer, buyer.id))

    result = build(session, config)

    entry = entries(session)["BUYER"]
    assert (entry["state"], entry["suppressed_reason"]) == (EntryState.SUPPRESSED, "dnc")
    assert result.suppressed[SuppressionReason.DNC] == 1


def test_higher_priority_campaign_takes_the_customer_until_it_is_done(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="BOTH")
    make_subscription(session, buyer, status=SubscriptionStatus.CANCEL_REQUESTED)
    session.commit()
    build_all(session, config, now=NOW)

    assert entries(session, "cancel-save")["BOTH"]["state"] is EntryState.PENDING
    held = entries(session)["BOTH"]
    assert (held["state"], held["suppressed_reason"]) == (EntryState.SUPPRESSED, "higher_priority")

    session.execute(
        sa.update(CallListEntry)
        .where(CallListEntry.campaign_id == "cancel-save")
        .values(state=EntryState.DONE, closed_reason="reached")
    )
    build(session, config)
    assert entries(session)["BOTH"]["state"] is EntryState.PENDING


def test_build_all_goes_from_the_highest_priority_down(session: Session, config: Config) -> None:
    results = build_all(session, config, now=NOW)

    assert [result.campaign_id for result in results] == [
        "finished",
        "paused",
        "cancel-save",
        "f2-followup",
        "repeat",
        "consent-only",
        "twin-a",
        "twin-b",
    ]


def test_between_equal_priorities_the_list_built_first_keeps_the_customer(
    session: Session, config: Config
) -> None:
    make_order(session, make_customer(session, external_id="TWIN"), sku="TWIN")

    build(session, config, "twin-a")
    build(session, config, "twin-b")
    build(session, config, "twin-a")

    assert entries(session, "twin-a")["TWIN"]["state"] is EntryState.PENDING
    assert entries(session, "twin-b")["TWIN"]["suppressed_reason"] == "higher_priority"


def test_in_progress_and_done_entries_are_never_touched(session: Session, config: Config) -> None:
    calling = one_time_buyer(session)
    finished = make_customer(session)
    make_entry(session, calling, campaign_id=F2, state=EntryState.IN_PROGRESS)
    make_entry(session, finished, campaign_id=F2, state=EntryState.DONE)
    make_dnc_entry(session, customer=calling)
    before = all_entries(session)

    build(session, config)

    after = [row for row in all_entries(session) if row["id"] in {r["id"] for r in before}]
    assert after == before


@pytest.mark.parametrize(
    ("campaign_id", "skipped"), [("paused", Skipped.DISABLED), ("finished", Skipped.ENDED)]
)
def test_disabled_or_ended_campaign_builds_nothing(
    session: Session, config: Config, campaign_id: str, skipped: Skipped
) -> None:
    one_time_buyer(session)

    result = build(session, config, campaign_id)

    assert result.skipped is skipped
    assert (result.new, result.pending, result.due_at) == (0, 0, None)
    assert entries(session, campaign_id) == {}


def test_build_runs_on_an_engine_as_well(engine: Engine, session: Session, config: Config) -> None:
    one_time_buyer(session, external_id="BUYER")
    session.commit()

    result = build_list(engine, config, F2, now=NOW)

    assert result.new == 1
    assert set(entries(session)) == {"BUYER"}


def test_pending_entry_follows_the_customers_dialable_number(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="BUYER", phones=["+819011112222"])
    build(session, config)
    customer = session.get_one(Customer, buyer.id)
    customer.phones[0].refusal_reason = "invalid"
    make_refused_phone(session, customer)
    customer.phones.append(CustomerPhone(preference=3, raw="080-3333-4444", e164="+818033334444"))

    build(session, config)

    assert entries(session)["BUYER"]["phone"] == "+818033334444"


def test_unknown_campaign_is_a_users_mistake(session: Session, config: Config) -> None:
    with pytest.raises(DialerError, match="unknown campaign 'nope'"):
        build_list(session, config, "nope", now=NOW)
