"""`dialer why`: per campaign, the segment, the list, the rule that holds and the next call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.errors import DialerError
from dialer.lists import build_list
from dialer.models import CallListEntry, Customer, EntryState, SubscriptionStatus
from dialer.why import CampaignStatus, CampaignWhy, Verdict, WhyReport, why
from dialer.why_report import why_as_json, why_as_text
from tests.factories import (
    JST,
    LISTS_CAMPAIGNS_YAML,
    make_customer,
    make_dialled_attempt,
    make_dnc_entry,
    make_entry,
    make_lists_config,
    make_order,
    make_refused_phone,
    make_subscription,
)

#: Saturday 17:55: the next permitted instant is Tuesday 10:00 (Monday is 勤労感謝の日).
NOW = datetime(2026, 11, 21, 17, 55, tzinfo=JST)
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
F2 = "f2-followup"


@pytest.fixture
def config() -> Config:
    return make_lists_config()


def one_time_buyer(session: Session, amount: int = 3980, **customer: Any) -> Customer:
    buyer = make_customer(session, **customer)
    make_order(session, buyer, amount=amount, ordered_at=NOW - timedelta(days=20))
    return buyer


def explain(
    session: Session, config: Config, external_id: str, campaign_id: str = F2
) -> tuple[WhyReport, CampaignWhy]:
    session.commit()
    report = why(session, config, external_id, now=NOW)
    return report, next(item for item in report.campaigns if item.campaign.id == campaign_id)


def test_unknown_customer_is_a_clear_error(session: Session, config: Config) -> None:
    with pytest.raises(DialerError, match="no customer with id 'NOBODY'"):
        why(session, config, "NOBODY", now=NOW)


def test_member_on_the_list_would_be_called_at_the_next_permitted_instant(
    session: Session, config: Config
) -> None:
    one_time_buyer(session, external_id="BUYER")
    session.commit()
    build_list(session, config, F2, now=NOW)

    report, f2 = explain(session, config, "BUYER")

    assert (f2.verdict, f2.next_call_at, f2.list_current) == (Verdict.WOULD_CALL, TUESDAY, True)
    assert f2.entry is not None and f2.entry.state is EntryState.PENDING
    assert f2.suppressions == ()
    assert [item.campaign.id for item in report.campaigns][:4] == [
        "finished",
        "paused",
        "cancel-save",
        F2,
    ]
    assert "次回発信: 2026年11月24日(火) 10:00" in why_as_text(report)


def test_member_not_yet_on_the_list_is_flagged_for_the_next_build(
    session: Session, config: Config
) -> None:
    one_time_buyer(session, external_id="NEW")

    _, f2 = explain(session, config, "NEW")

    assert (f2.verdict, f2.entry, f2.list_current) == (Verdict.WOULD_CALL, None, False)


def test_customer_outside_the_segment_is_shown_the_condition_that_fails(
    session: Session, config: Config
) -> None:
    repeater = one_time_buyer(session, external_id="REPEATER")
    make_order(session, repeater)

    report, f2 = explain(session, config, "REPEATER")

    assert f2.verdict is Verdict.NOT_IN_SEGMENT
    assert f2.next_call_at is None
    [check] = f2.segment.explanation.checks
    assert (check.condition, check.holds, check.value) == ("orders_count equals 1", False, 2)
    assert "× orders_count equals 1 (値: 2)" in why_as_text(report)


def test_cooldown_is_explained_with_the_contact_behind_it(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="REACHED")
    contacted = datetime(2026, 11, 20, 11, 0, tzinfo=JST)
    make_dialled_attempt(
        session, buyer, campaign_id="repeat", started_at=contacted, answered_by="human"
    )

    report, f2 = explain(session, config, "REACHED")

    assert f2.verdict is Verdict.SUPPRESSED
    # The cooldown ends on Friday 27 November at 11:00, inside that day's window.
    assert f2.next_call_at == datetime(2026, 11, 27, 11, 0, tzinfo=JST)
    assert (
        "停止理由: 接触後の待機期間中 (cooldown): last contacted 2026-11-20 by repeat, "
        "cooldown 7d (until 2026-11-27 11:00)"
    ) in why_as_text(report)


def test_dnc_is_explained_with_the_entry_behind_it(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="DNC")
    added = datetime(2026, 11, 1, 9, 0, tzinfo=JST)
    make_dnc_entry(session, customer=buyer, reason="もう電話しないで", added_at=added)

    report, f2 = explain(session, config, "DNC")

    assert (f2.verdict, f2.next_call_at) == (Verdict.SUPPRESSED, None)
    assert (
        "DNC since 2026-11-01 for customer, reason 'もう電話しないで', source import"
        in why_as_text(report)
    )


def test_refused_number_is_explained_with_its_refusal(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="TOLL-FREE", phones=[])
    make_refused_phone(session, buyer, refusal_reason="toll_free")

    report, f2 = explain(session, config, "TOLL-FREE")

    assert [s.reason.value for s in f2.suppressions] == ["no_dialable_phone"]
    text = why_as_text(report)
    assert "phone +81 120-***-456 refused: フリーダイヤル（0120・0800）" in text
    assert "0120-123-456" not in text


def test_customer_held_by_a_higher_priority_campaign_is_told_which(
    session: Session, config: Config
) -> None:
    buyer = one_time_buyer(session, external_id="CANCELLING")
    make_subscription(session, buyer, status=SubscriptionStatus.CANCEL_REQUESTED)
    session.commit()
    build_list(session, config, "cancel-save", now=NOW)
    build_list(session, config, F2, now=NOW)

    report, f2 = explain(session, config, "CANCELLING")
    _, cancel_save = explain(session, config, "CANCELLING", "cancel-save")

    assert (cancel_save.verdict, cancel_save.next_call_at) == (Verdict.WOULD_CALL, TUESDAY)
    assert (f2.verdict, f2.list_current) == (Verdict.SUPPRESSED, True)
    assert "pending in cancel-save (priority 90)" in why_as_text(report)


def test_rule_lifted_since_the_last_build_is_flagged(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="LIFTED")
    dnc = make_dnc_entry(session, customer=buyer)
    session.commit()
    build_list(session, config, F2, now=NOW)
    dnc.removed_at, dnc.removed_by, dnc.removed_reason = NOW, "sv01", "登録誤り"

    report, f2 = explain(session, config, "LIFTED")

    assert f2.entry is not None and f2.entry.suppressed_reason == "dnc"
    assert (f2.verdict, f2.list_current, f2.next_call_at) == (Verdict.WOULD_CALL, False, TUESDAY)
    assert "※ 次回のリスト更新で反映されます" in why_as_text(report)


def test_finished_entry_is_final(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="DONE")
    make_entry(session, buyer, campaign_id=F2, state=EntryState.DONE)

    _, f2 = explain(session, config, "DONE")

    assert (f2.verdict, f2.next_call_at) == (Verdict.DONE, None)
    assert f2.suppressions == ()


@pytest.mark.parametrize(
    ("campaign_id", "status", "verdict"),
    [
        ("paused", CampaignStatus.DISABLED, Verdict.CAMPAIGN_DISABLED),
        ("finished", CampaignStatus.ENDED, Verdict.CAMPAIGN_ENDED),
    ],
)
def test_campaigns_that_cannot_call_say_so(
    session: Session,
    config: Config,
    campaign_id: str,
    status: CampaignStatus,
    verdict: Verdict,
) -> None:
    one_time_buyer(session, external_id="BUYER")

    _, item = explain(session, config, "BUYER", campaign_id)

    assert (item.status, item.verdict, item.next_call_at) == (status, verdict, None)
    assert item.segment.member


def test_segment_limit_is_applied_and_the_rank_shown(session: Session) -> None:
    limited = LISTS_CAMPAIGNS_YAML.replace(
        "order_by: [first_order_value desc]", "order_by: [first_order_value desc]\n      limit: 1"
    )
    config = make_lists_config(limited)
    one_time_buyer(session, 9000, external_id="FIRST")
    one_time_buyer(session, 3000, external_id="CUT")

    _, first = explain(session, config, "FIRST")
    _, cut = explain(session, config, "CUT")

    assert (first.segment.member, first.segment.rank, first.segment.limit) == (True, 1, 1)
    assert (cut.segment.matches, cut.segment.member, cut.verdict) == (
        True,
        False,
        Verdict.NOT_IN_SEGMENT,
    )


def test_why_reads_only(session: Session, config: Config) -> None:
    one_time_buyer(session, external_id="BUYER")
    session.commit()

    why(session, config, "BUYER", now=NOW)

    assert not session.in_transaction()
    assert session.scalar(sa.select(sa.func.count()).select_from(CallListEntry)) == 0


def test_why_json_has_the_documented_shape(session: Session, config: Config) -> None:
    buyer = one_time_buyer(session, external_id="REACHED")
    make_dialled_attempt(
        session,
        buyer,
        campaign_id="repeat",
        started_at=datetime(2026, 11, 20, 11, 0, tzinfo=JST),
        answered_by="human",
    )
    session.commit()

    shown = why_as_json(why(session, config, "REACHED", now=NOW))

    assert list(shown) == ["customer", "as_of", "campaigns"]
    assert shown["customer"]["phones"][0]["phone"].startswith("+81 90-****-")
    f2 = next(item for item in shown["campaigns"] if item["campaign"] == F2)
    assert list(f2) == [
        "campaign",
        "name",
        "priority",
        "status",
        "verdict",
        "segment",
        "entry",
        "suppressions",
        "next_call_at",
        "list_current",
    ]
    [cooldown] = f2["suppressions"]
    assert cooldown["reason"] == "cooldown"
    assert cooldown["until"] == "2026-11-27T11:00:00+09:00"
    assert cooldown["evidence"] == [
        {
            "kind": "contact",
            "campaign_id": "repeat",
            "at": "2026-11-20T11:00:00+09:00",
            "cooldown": "7d",
            "until": "2026-11-27T11:00:00+09:00",
        }
    ]
    assert f2["segment"]["checks"] == [
        {"condition": "orders_count equals 1", "holds": True, "value": 1}
    ]
