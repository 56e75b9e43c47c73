"""The shared example and the project's own campaigns.yaml are valid and mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaigns import load_config
from dialer.campaigns.segments import AllOf, Between, Compare, FieldRef, Op, SegmentField

ROOT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLE = ROOT.parent / "shared" / "campaigns.example.yaml"


@pytest.mark.skipif(not SHARED_EXAMPLE.exists(), reason="the shared example is not checked out")
def test_shared_example_is_valid() -> None:
    config = load_config(SHARED_EXAMPLE)
    assert [campaign.id for campaign in config.campaigns] == ["f2-followup", "cancel-save"]


def test_project_sample_is_valid() -> None:
    config = load_config(ROOT / "campaigns.yaml")
    assert {campaign.id for campaign in config.campaigns} == {
        "f2-followup",
        "dormant-reactivation",
        "birthday-coupon",
        "best-customers-thanks",
        "cancel-save",
        "dm-followup",
        "subscriber-satisfaction",
    }


def test_sample_f2_followup_selects_one_order_14_to_45_days_ago() -> None:
    campaign = load_config(ROOT / "campaigns.yaml").campaign("f2-followup")
    where = campaign.segment.where
    assert isinstance(where, AllOf)
    assert where.conditions[:2] == (
        Compare(FieldRef(SegmentField.ORDERS_COUNT), Op.EQUALS, 1),
        Between(FieldRef(SegmentField.FIRST_ORDER_DAYS_AGO), 14, 45),
    )


def test_sample_sales_greetings_name_company_and_purpose_first() -> None:
    config = load_config(ROOT / "campaigns.yaml")
    for campaign in config.campaigns:
        assert campaign.ivr.greeting.startswith("{company}でございます。"), campaign.id
        if campaign.kind == "solicitation":
            assert campaign.ivr.keys_for("opt_out"), campaign.id
