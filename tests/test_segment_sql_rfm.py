"""RFM scores in segments follow the `rfm:` thresholds exactly at each boundary."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy.orm import Session

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segment_parser import parse_segment
from dialer.segment_sql import explain_customer, segment_member_ids
from tests.factories import make_customer, make_order

JST = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=JST)


def scores(session: Session, field: str, rfm: Rfm) -> dict[int, int]:
    """Each customer's score on `field`, as the segment `field: N` finds it."""
    found: dict[int, int] = {}
    for score in range(1, 6):
        segment = parse_segment(yaml.safe_load(f"{field}: {score}"))
        for customer_id in segment_member_ids(session, segment, rfm=rfm, as_of=AS_OF, timezone=JST):
            assert customer_id not in found, "a customer has two scores"
            found[customer_id] = score
    return found


def days_ago(days: int, hour: int = 12) -> datetime:
    day = AS_OF.date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=JST)


RECENCY = {0: 5, 30: 5, 31: 4, 90: 4, 91: 3, 180: 3, 181: 2, 365: 2, 366: 1, 2000: 1}
FREQUENCY = {1: 1, 2: 2, 3: 3, 5: 3, 6: 4, 11: 4, 12: 5, 13: 5}
MONETARY = {0: 1, 5000: 1, 5001: 2, 10000: 2, 10001: 3, 15000: 3, 15001: 4, 20000: 4, 20001: 5}


def test_recency_score_at_each_threshold(session: Session) -> None:
    customers = {}
    for days, expected in RECENCY.items():
        customer = make_customer(session)
        make_order(session, customer, ordered_at=days_ago(days + 400))
        make_order(session, customer, ordered_at=days_ago(days, hour=23))
        customers[customer.id] = expected
    never = make_customer(session)
    session.commit()
    found = scores(session, "rfm_r", Rfm())
    assert found == customers
    assert never.id not in found
    assert Rfm().recency_score(31) == 4  # the same rule as the configuration's


def test_frequency_score_at_each_threshold(session: Session) -> None:
    customers = {}
    for orders, expected in FREQUENCY.items():
        customer = make_customer(session)
        for index in range(orders):
            make_order(session, customer, ordered_at=days_ago(index))
        customers[customer.id] = expected
    customers[make_customer(session).id] = 1
    session.commit()
    assert scores(session, "rfm_f", Rfm()) == customers


def test_monetary_score_at_each_threshold(session: Session) -> None:
    customers = {}
    for lifetime, expected in MONETARY.items():
        customer = make_customer(session)
        make_order(session, customer, amount=lifetime // 2)
        make_order(session, customer, amount=lifetime - lifetime // 2)
        customers[customer.id] = expected
    session.commit()
    assert scores(session, "rfm_m", Rfm()) == customers


@pytest.mark.parametrize(
    ("field", "thresholds", "value", "expected"),
    [
        pytest.param("rfm_r", {"recency_days": [7, 14, 21, 28]}, 8, 4, id="recency"),
        pytest.param("rfm_f", {"frequency_orders": [3, 4, 5, 6]}, 2, 1, id="frequency"),
        pytest.param("rfm_m", {"monetary_yen": [1000, 2000, 3000, 4000]}, 3980, 4, id="monetary"),
    ],
)
def test_scores_follow_the_configured_thresholds(
    session: Session, field: str, thresholds: dict[str, list[int]], value: int, expected: int
) -> None:
    customer = make_customer(session)
    if field == "rfm_f":
        for index in range(value):
            make_order(session, customer, ordered_at=days_ago(index))
    else:
        make_order(session, customer, ordered_at=days_ago(value), amount=value)
    session.commit()
    rfm = Rfm.model_validate(thresholds)
    assert scores(session, field, rfm) == {customer.id: expected}
    explanation = explain_customer(
        session,
        parse_segment({field: expected}),
        customer.id,
        rfm=rfm,
        as_of=AS_OF,
        timezone=JST,
    )
    assert explanation.checks[0].value == expected
