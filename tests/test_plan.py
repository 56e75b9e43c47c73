"""`dialer plan`: the dry run writes nothing, orders the list, and knows the calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.lists import build_list
from dialer.models import (
    Attempt,
    CallListEntry,
    Customer,
    CustomerPhone,
    DncEntry,
    EntryState,
    KeyPress,
    Order,
    SubscriptionStatus,
)
from dialer.plan import plan
from dialer.plan_report import plan_as_json, plan_as_text
from dialer.suppression import SuppressionReason
from tests.factories import (
    JST,
    make_customer,
    make_dialled_attempt,
    make_dnc_entry,
    make_entry,
    make_lists_config,
    make_order,
    make_subscription,
)

#: Saturday 17:55: the Saturday window has closed (last-dial margin), Monday 23 November is a
#: public holiday (勤労感謝の日), so the next permitted instant is Tuesday 10:00.
NOW = datetime(2026, 11, 21, 17, 55, tzinfo=JST)
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
F2 = "f2-followup"
_TABLES = (Customer, CustomerPhone, Order, DncEntry, CallListEntry, Attempt, KeyPress)


@pytest.fixture
def config() -> Config:
    return make_lists_config()


def snapshot(session: Session) -> dict[str, Sequence[sa.Row[Any]]]:
    """Every row of the tables a build reads or writes."""
    return {
        model.__tablename__: session.execute(
            sa.select(model.__table__).order_by(model.__table__.c.id)
        ).all()
        for model in _TABLES
    }


def one_time_buyer(session: Session, amount: int = 3980, **customer: Any) -> Customer:
    buyer = make_customer(session, **customer)
    make_order(session, buyer, amount=amount, ordered_at=NOW - timedelta(days=20))
    return buyer


@pytest.fixture
def shop(session: Session) -> None:
    """Three callable one-time buyers, one on the DNC list, one reached by another campaign,
    and a list built once (so that the plan has entries to keep and to change)."""
    one_time_buyer(session, 3000, external_id="SMALL", name="小林 一郎")
    one_time_buyer(session, 9000, external_id="LARGE", name="大野 花子")
    one_time_buyer(session, 5000, external_id="MIDDLE")
    make_dnc_entry(session, customer=one_time_buyer(session, external_id="DNC"))
    reached = one_time_buyer(session, external_id="REACHED")
    make_dialled_attempt(
        session,
        reached,
        campaign_id="repeat",
        started_at=NOW - timedelta(days=1),
        answered_by="human",
    )
    session.commit()


@pytest.mark.usefixtures("shop")
def test_plan_writes_nothing(session: Session, config: Config) -> None:
    build_list(session, config, F2, now=NOW - timedelta(days=3))
    one_time_buyer(session, external_id="LATECOMER")
    session.commit()
    before = snapshot(session)
    session.commit()

    result = plan(session, config, F2, now=NOW)

    assert result.build.new == 1
    assert not session.in_transaction()
    assert snapshot(session) == before


@pytest.mark.usefixtures("shop")
def test_plan_keeps_the_callers_transaction_and_sees_its_changes(
    session: Session, config: Config
) -> None:
    one_time_buyer(session, external_id="UNCOMMITTED")

    result = plan(session, config, F2, now=NOW)

    assert "UNCOMMITTED" in [call.external_id for call in result.calls]
    assert session.in_transaction()
    session.commit()
    assert session.scalars(
        sa.select(Customer.external_id).where(Customer.external_id == "UNCOMMITTED")
    ).one()
    f2_entries = sa.select(sa.func.count()).where(CallListEntry.campaign_id == F2)
    assert session.scalar(f2_entries) == 0


@pytest.mark.usefixtures("shop")
def test_plan_lists_callable_entries_by_priority_with_the_next_permitted_instant(
    session: Session, config: Config
) -> None:
    result = plan(session, config, F2, now=NOW)

    assert [(call.external_id, call.priority) for call in result.calls] == [
        ("LARGE", 5),
        ("MIDDLE", 4),
        ("SMALL", 1),
    ]
    assert all(call.next_permitted_at == TUESDAY for call in result.calls)
    assert all(call.state is EntryState.PENDING and call.attempts == 0 for call in result.calls)
    assert result.calls[0].phone.startswith("+81 90-****-")
    assert result.total == result.pending == 3


@pytest.mark.usefixtures("shop")
def test_plan_counts_the_suppressed_per_reason(session: Session, config: Config) -> None:
    result = plan(session, config, F2, now=NOW)

    assert {reason: count for reason, count in result.suppressed.items() if count} == {
        SuppressionReason.DNC: 1,
        SuppressionReason.COOLDOWN: 1,
    }


@pytest.mark.usefixtures("shop")
def test_plan_limit_shows_the_first_entries_and_counts_all(
    session: Session, config: Config
) -> None:
    result = plan(session, config, F2, now=NOW, limit=2)

    assert [call.external_id for call in result.calls] == ["LARGE", "MIDDLE"]
    assert result.total == 3


def test_plan_builds_the_lists_of_campaigns_that_outrank_this_one(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="CANCELLING")
    make_subscription(session, buyer, status=SubscriptionStatus.CANCEL_REQUESTED)
    session.commit()

    result = plan(session, config, F2, now=NOW)

    assert result.calls == ()
    assert result.suppressed[SuppressionReason.HIGHER_PRIORITY] == 1


def test_entry_waiting_for_a_retry_is_permitted_from_its_due_time(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="RETRY")
    session.commit()
    build_list(session, config, F2, now=NOW)
    retry_at = datetime(2026, 11, 25, 15, 0, tzinfo=JST)
    session.execute(sa.update(CallListEntry).values(next_attempt_at=retry_at, attempt_count=1))
    session.commit()

    [call] = plan(session, config, F2, now=NOW).calls

    assert (call.external_id, call.attempts) == (buyer.external_id, 1)
    assert call.next_permitted_at == retry_at


def test_call_in_progress_is_listed_without_a_next_time(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="ON-THE-PHONE")
    make_entry(session, buyer, campaign_id=F2, state=EntryState.IN_PROGRESS)
    session.commit()

    [call] = plan(session, config, F2, now=NOW).calls

    assert (call.state, call.next_permitted_at) == (EntryState.IN_PROGRESS, None)


def test_plan_of_a_disabled_campaign_builds_nothing(session: Session, config: Config) -> None:
    one_time_buyer(session)
    session.commit()

    result = plan(session, config, "paused", now=NOW)

    assert result.build.skipped is not None
    assert (result.total, result.calls) == (0, ())
    assert plan_as_json(result)["skipped"] == "disabled"


@pytest.mark.usefixtures("shop")
def test_plan_json_has_the_documented_shape(session: Session, config: Config) -> None:
    shown = plan_as_json(plan(session, config, F2, now=NOW, limit=1))

    assert list(shown) == [
        "campaign",
        "name",
        "priority",
        "timezone",
        "as_of",
        "skipped",
        "total",
        "shown",
        "pending",
        "suppressed",
        "build",
        "calls",
    ]
    assert (shown["total"], shown["shown"], shown["as_of"]) == (3, 1, "2026-11-21T17:55:00+09:00")
    assert list(shown["suppressed"]) == [reason.value for reason in SuppressionReason]
    assert shown["calls"][0] | {"phone": "masked"} == {
        "position": 1,
        "customer": "LARGE",
        "name": "大野 花子",
        "phone": "masked",
        "priority": 5,
        "attempts": 0,
        "state": "pending",
        "last_outcome": None,
        "next_attempt_at": "2026-11-24T10:00:00+09:00",
        "next_permitted_at": "2026-11-24T10:00:00+09:00",
    }


@pytest.mark.usefixtures("shop")
def test_plan_text_shows_times_the_japanese_way(session: Session, config: Config) -> None:
    text = plan_as_text(plan(session, config, F2, now=NOW, limit=2))

    assert "基準時刻: 2026年11月21日(土) 17:55 (Asia/Tokyo)" in text
    assert "発信禁止リスト登録 (dnc): 1" in text
    lines = text.splitlines()
    large = next(line for line in lines if "LARGE" in line)
    assert "大野 花子" in large and large.endswith("2026年11月24日(火) 10:00")
    assert "… ほか 1 件" in text
