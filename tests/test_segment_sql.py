"""Segments compiled to SQL, on both engines, against a small shop whose every value is known.

The shop, as of Sunday 2026-11-22 12:00 in Tokyo (days are local calendar days):

| customer      | orders (JST)                      | lifetime | first/last | since | RFM |
| ------------- | --------------------------------- | -------- | ---------- | ----- | --- |
| newbie        | 11-08 23:30 ¥1,980 AOJIRU-TRIAL   |    1,980 | 14 / 14    |    14 | 511 |
| too_fresh     | 11-09 00:10 ¥2,980 AOJIRU-30      |    2,980 | 13 / 13    |    13 | 511 |
| loyal         | the 10th, 2025-12…2026-11: ¥1,000 |   24,100 | 347 / 12   |  2517 | 555 |
|               | then 11 × ¥2,100, AOJIRU-30       |          |            |       |     |
| dormant       | 2025-09-01 SUPPLI-A, 2026-01-15   |   12,000 | 447 / 266  |   447 | 233 |
|               | and 03-01 AOJIRU-30, ¥4,000 each  |          |            |       |     |
| never_ordered | none                              |        0 | none       |    52 | -11 |
| canceller     | 2026-06-01, 09-01 ¥3,000 AOJIRU-90 |    6,000 | 174 / 82   |   174 | 422 |

Birthdays: newbie 11-03, too_fresh 12-24, loyal 05-05, dormant 01-20, never_ordered unknown,
canceller 11-30. Subscriptions: loyal active/30d, dormant cancelled/90d, canceller
cancel_requested/60d and paused/45d. Mailing winter-dm-2026: loyal 3 days ago (at 00:00),
dormant 2, never_ordered 5, canceller 11; spring-2026: loyal 2 days ago. Every customer record
was created on 2026-11-20 (an import), except loyal (2020-01-01) and never_ordered (2026-10-01).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segment_parser import parse_segment
from dialer.campaigns.segments import Segment
from dialer.models import Customer, SubscriptionStatus
from dialer.segment_sql import (
    LeafCheck,
    UnknownCustomerError,
    explain_customer,
    segment_member_ids,
    segment_query,
)
from tests.factories import make_customer, make_mailing, make_order, make_subscription

JST = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=JST)
IMPORTED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=JST)
EVERYONE = {"newbie", "too_fresh", "loyal", "dormant", "never_ordered", "canceller"}


def jst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JST)


def segment(text: str) -> Segment:
    """A segment written as in campaigns.yaml."""
    return parse_segment(yaml.safe_load(text))


@dataclass
class Shop:
    """The fixture's customers by name, and the queries the tests ask of them."""

    session: Session
    ids: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, created_at: datetime = IMPORTED_AT, **columns: Any) -> Customer:
        customer = make_customer(self.session, external_id=name, **columns)
        customer.created_at = created_at
        self.ids[name] = customer.id
        return customer

    def ranked(self, text: str, *, as_of: datetime = AS_OF) -> list[str]:
        names = {customer_id: name for name, customer_id in self.ids.items()}
        found = segment_member_ids(
            self.session, segment(text), rfm=Rfm(), as_of=as_of, timezone=JST
        )
        return [names[customer_id] for customer_id in found]

    def members(self, text: str) -> set[str]:
        return set(self.ranked(text))

    def explain(self, text: str, name: str) -> list[LeafCheck]:
        explanation = explain_customer(
            self.session, segment(text), self.ids[name], rfm=Rfm(), as_of=AS_OF, timezone=JST
        )
        return list(explanation.checks)


@pytest.fixture
def shop(session: Session) -> Iterator[Shop]:
    shop = Shop(session)
    newbie = shop.add("newbie", birthday=date(1990, 11, 3))
    make_order(
        session, newbie, ordered_at=jst(2026, 11, 8, 23, 30), amount=1980, sku="AOJIRU-TRIAL"
    )

    too_fresh = shop.add("too_fresh", birthday=date(1985, 12, 24))
    make_order(session, too_fresh, ordered_at=jst(2026, 11, 9, 0, 10), amount=2980, sku="AOJIRU-30")

    loyal = shop.add("loyal", created_at=jst(2020, 1, 1), birthday=date(1970, 5, 5))
    for index in range(12):
        month = (11 + index) % 12 + 1
        ordered_at = jst(2025 if month == 12 else 2026, month, 10)
        make_order(session, loyal, ordered_at=ordered_at, amount=1000 if index == 0 else 2100)
    make_subscription(session, loyal, cycle_days=30, status=SubscriptionStatus.ACTIVE)
    make_mailing(session, loyal, mailing="winter-dm-2026", sent_at=jst(2026, 11, 19, 0, 0))
    make_mailing(session, loyal, mailing="spring-2026", sent_at=jst(2026, 11, 20))

    dormant = shop.add("dormant", birthday=date(1960, 1, 20))
    make_order(session, dormant, ordered_at=jst(2025, 9, 1), amount=4000, sku="SUPPLI-A")
    make_order(session, dormant, ordered_at=jst(2026, 1, 15), amount=4000, sku="AOJIRU-30")
    make_order(session, dormant, ordered_at=jst(2026, 3, 1), amount=4000, sku="AOJIRU-30")
    make_subscription(session, dormant, cycle_days=90, status=SubscriptionStatus.CANCELLED)
    make_mailing(session, dormant, mailing="winter-dm-2026", sent_at=jst(2026, 11, 20, 0, 0))

    never_ordered = shop.add("never_ordered", created_at=jst(2026, 10, 1), birthday=None)
    make_mailing(session, never_ordered, mailing="winter-dm-2026", sent_at=jst(2026, 11, 17))

    canceller = shop.add("canceller", birthday=date(1975, 11, 30))
    for ordered_at in (jst(2026, 6, 1), jst(2026, 9, 1)):
        make_order(session, canceller, ordered_at=ordered_at, amount=3000, sku="AOJIRU-90")
    make_subscription(session, canceller, cycle_days=60, status=SubscriptionStatus.CANCEL_REQUESTED)
    make_subscription(session, canceller, cycle_days=45, status=SubscriptionStatus.PAUSED)
    make_mailing(session, canceller, mailing="winter-dm-2026", sent_at=jst(2026, 11, 11))
    session.commit()
    yield shop


FIELD_CASES = {
    # orders_count, and every operator once
    "orders_count: 1": {"newbie", "too_fresh"},
    "orders_count: 0": {"never_ordered"},
    "orders_count: {equals: 3}": {"dormant"},
    "orders_count: {gt: 2}": {"loyal", "dormant"},
    "orders_count: {gte: 2}": {"loyal", "dormant", "canceller"},
    "orders_count: {lt: 2}": {"newbie", "too_fresh", "never_ordered"},
    "orders_count: {lte: 1}": {"newbie", "too_fresh", "never_ordered"},
    "orders_count: {between: [2, 3]}": {"dormant", "canceller"},
    "orders_count: {in: [0, 3]}": {"never_ordered", "dormant"},
    "orders_count: {not: 1}": EVERYONE - {"newbie", "too_fresh"},
    "orders_count: {not: {gte: 2}}": {"newbie", "too_fresh", "never_ordered"},
    "orders_count: {gte: 2, lte: 3}": {"dormant", "canceller"},
    # values in yen
    "lifetime_value: {gt: 20000}": {"loyal"},
    "lifetime_value: {lte: 1980}": {"newbie", "never_ordered"},
    "lifetime_value: 0": {"never_ordered"},
    "lifetime_value: {between: [2980, 12000]}": {"too_fresh", "dormant", "canceller"},
    "average_order_value: {gte: 3000}": {"dormant", "canceller"},
    "average_order_value: {lt: 2500}": {"newbie", "loyal"},
    "average_order_value: {not: {lt: 2500}}": {
        "too_fresh",
        "dormant",
        "canceller",
        "never_ordered",
    },
    "first_order_value: {lte: 1000}": {"loyal"},
    "first_order_value: 4000": {"dormant"},
    "first_order_value: {in: [1980, 2980]}": {"newbie", "too_fresh"},
    # days
    "first_order_days_ago: {between: [14, 45]}": {"newbie"},
    "first_order_days_ago: {gt: 300}": {"loyal", "dormant"},
    "first_order_days_ago: 13": {"too_fresh"},
    "first_order_days_ago: {lt: 14}": {"too_fresh"},
    "last_order_days_ago: {gt: 180}": {"dormant"},
    "last_order_days_ago: {lte: 14}": {"newbie", "too_fresh", "loyal"},
    "last_order_days_ago: {in: [82, 266]}": {"canceller", "dormant"},
    "last_order_days_ago: {gte: 82, lt: 266}": {"canceller"},
    "customer_since_days: {gte: 174}": {"loyal", "dormant", "canceller"},
    "customer_since_days: {between: [13, 14]}": {"newbie", "too_fresh"},
    "customer_since_days: 52": {"never_ordered"},
    # products, birthdays, subscriptions, mailings
    "bought_sku: AOJIRU-30": {"too_fresh", "loyal", "dormant"},
    "bought_sku: {in: [SUPPLI-A, AOJIRU-TRIAL]}": {"newbie", "dormant"},
    "bought_sku: {not: AOJIRU-30}": {"newbie", "never_ordered", "canceller"},
    "birthday_month: 11": {"newbie", "canceller"},
    "birthday_month: current": {"newbie", "canceller"},
    "birthday_month: next": {"too_fresh"},
    "birthday_month: {in: [1, 5]}": {"dormant", "loyal"},
    "birthday_month: {in: [next, 5]}": {"too_fresh", "loyal"},
    "birthday_month: {not: current}": {"too_fresh", "loyal", "dormant", "never_ordered"},
    "subscription_status: cancel_requested": {"canceller"},
    "subscription_status: {in: [active, paused]}": {"loyal", "canceller"},
    "subscription_status: {not: active}": EVERYONE - {"loyal"},
    "subscription_status: {not: cancelled}": EVERYONE - {"dormant"},
    "subscription_cycle_days: 45": {"canceller"},
    "subscription_cycle_days: {gte: 60}": {"dormant", "canceller"},
    "subscription_cycle_days: {lt: 60}": {"loyal", "canceller"},
    "days_since_mailing: {mailing: winter-dm-2026, between: [3, 10]}": {"loyal", "never_ordered"},
    "days_since_mailing: {mailing: winter-dm-2026, lte: 2}": {"dormant"},
    "days_since_mailing: {mailing: spring-2026, equals: 2}": {"loyal"},
    "days_since_mailing: {mailing: winter-dm-2026, not: {gte: 0}}": {"newbie", "too_fresh"},
    # scores
    "rfm_r: 5": {"newbie", "too_fresh", "loyal"},
    "rfm_r: {lte: 2}": {"dormant"},
    "rfm_r: {not: 5}": {"dormant", "canceller", "never_ordered"},
    "rfm_f: 1": {"newbie", "too_fresh", "never_ordered"},
    "rfm_f: {between: [2, 3]}": {"dormant", "canceller"},
    "rfm_m: {gte: 3}": {"loyal", "dormant"},
    "rfm_m: 2": {"canceller"},
}


@pytest.mark.parametrize(("text", "expected"), FIELD_CASES.items(), ids=list(FIELD_CASES))
def test_field_operator_selects_the_hand_computed_customers(
    shop: Shop, text: str, expected: set[str]
) -> None:
    assert shop.members(text) == expected


COMPOSITION_CASES = {
    "all: []": EVERYONE,
    "not: {last_order_days_ago: {lt: 30}}": {"dormant", "canceller", "never_ordered"},
    "not: {first_order_value: {gt: 0}}": {"never_ordered"},
    "not: {rfm_r: {gte: 1}}": {"never_ordered"},
    "not: {birthday_month: {in: [1, 5, 11, 12]}}": {"never_ordered"},
    "all: [{orders_count: {gte: 1}}, {rfm_m: {lte: 2}}]": {"newbie", "too_fresh", "canceller"},
    "any: [{orders_count: 0}, {bought_sku: SUPPLI-A}]": {"never_ordered", "dormant"},
    "any: [{orders_count: 0}, {all: [{rfm_f: {gte: 3}}, {not: {subscription_status: active}}]}]": {
        "never_ordered",
        "dormant",
    },
    "not: {any: [{bought_sku: AOJIRU-30}, {orders_count: 0}]}": {"newbie", "canceller"},
    "not: {all: [{orders_count: 1}, {not: {birthday_month: current}}]}": EVERYONE - {"too_fresh"},
    "not: {not: {lifetime_value: {gt: 20000}}}": {"loyal"},
}


@pytest.mark.parametrize(
    ("text", "expected"), COMPOSITION_CASES.items(), ids=list(COMPOSITION_CASES)
)
def test_all_any_and_not_compose_as_boolean_logic(
    shop: Shop, text: str, expected: set[str]
) -> None:
    assert shop.members(text) == expected


def test_not_is_the_exact_complement_for_customers_without_orders(shop: Shop) -> None:
    condition = "last_order_days_ago: {lt: 30}"
    assert shop.members(f"not: {{{condition}}}") == EVERYONE - shop.members(condition)
    assert "never_ordered" in shop.members(f"not: {{{condition}}}")


SEEDS = {
    "best customers": """
        all:
          - rfm_f: {gte: 4}
          - rfm_m: {gte: 4}
          - last_order_days_ago: {lte: 90}
        order_by: [lifetime_value desc]
        limit: 200
    """,
    "F2 follow-up": """
        all:
          - orders_count: 1
          - first_order_days_ago: {between: [14, 45]}
          - not: {subscription_status: {in: [active, paused]}}
        order_by: [first_order_value desc]
    """,
    "dormant": """
        all:
          - orders_count: {gte: 2}
          - last_order_days_ago: {gt: 180}
          - not: {subscription_status: active}
        order_by: [lifetime_value desc, last_order_days_ago]
        limit: 1000
    """,
    "birthday month": """
        all:
          - birthday_month: current
          - last_order_days_ago: {lte: 365}
          - subscription_status: {not: cancelled}
    """,
    "subscription cancel requested": "subscription_status: cancel_requested",
    "mailing follow-up": """
        all:
          - days_since_mailing: {mailing: winter-dm-2026, between: [3, 10]}
          - orders_count: {gte: 1}
          - any:
              - bought_sku: {in: [AOJIRU-30, AOJIRU-90]}
              - rfm_r: {gte: 3}
        order_by: [rfm_r desc, lifetime_value desc]
    """,
}
SEED_MEMBERS = {
    "best customers": ["loyal"],
    "F2 follow-up": ["newbie"],
    "dormant": ["dormant"],
    "birthday month": ["newbie", "canceller"],
    "subscription cancel requested": ["canceller"],
    "mailing follow-up": ["loyal"],
}


@pytest.mark.parametrize("name", SEEDS)
def test_seed_segment_selects_its_customers(shop: Shop, name: str) -> None:
    assert shop.ranked(SEEDS[name]) == SEED_MEMBERS[name]


@pytest.mark.parametrize("name", SEEDS)
def test_explanation_agrees_with_the_member_set(shop: Shop, name: str) -> None:
    members = shop.members(SEEDS[name])
    for customer, customer_id in shop.ids.items():
        explanation = explain_customer(
            shop.session, segment(SEEDS[name]), customer_id, rfm=Rfm(), as_of=AS_OF, timezone=JST
        )
        assert explanation.matches == (customer in members), customer


# Order and limit

ORDER_CASES = {
    "order_by: [lifetime_value desc]": [
        "loyal",
        "dormant",
        "canceller",
        "too_fresh",
        "newbie",
        "never_ordered",
    ],
    "order_by: [first_order_value desc]": [
        "dormant",
        "canceller",
        "too_fresh",
        "newbie",
        "loyal",
        "never_ordered",
    ],
    "order_by: [first_order_value]": [
        "loyal",
        "newbie",
        "too_fresh",
        "canceller",
        "dormant",
        "never_ordered",
    ],
    "order_by: [last_order_days_ago]": [
        "loyal",
        "too_fresh",
        "newbie",
        "canceller",
        "dormant",
        "never_ordered",
    ],
    "order_by: [first_order_days_ago desc]": [
        "dormant",
        "loyal",
        "canceller",
        "newbie",
        "too_fresh",
        "never_ordered",
    ],
    "order_by: [rfm_f desc, lifetime_value]": [
        "loyal",
        "dormant",
        "canceller",
        "never_ordered",
        "newbie",
        "too_fresh",
    ],
    "order_by: [orders_count]": [
        "never_ordered",
        "newbie",
        "too_fresh",
        "canceller",
        "dormant",
        "loyal",
    ],
    "order_by: [rfm_m desc]": [
        "loyal",
        "dormant",
        "canceller",
        "newbie",
        "too_fresh",
        "never_ordered",
    ],
    "order_by: [customer_since_days desc, average_order_value]": [
        "loyal",
        "dormant",
        "canceller",
        "never_ordered",
        "newbie",
        "too_fresh",
    ],
    "order_by: [subscription_cycle_days]": [
        "loyal",
        "canceller",
        "dormant",
        "newbie",
        "too_fresh",
        "never_ordered",
    ],
}


@pytest.mark.parametrize(("order", "expected"), ORDER_CASES.items(), ids=list(ORDER_CASES))
def test_order_by_sorts_missing_values_last_and_ties_by_customer_id(
    shop: Shop, order: str, expected: list[str]
) -> None:
    assert shop.ranked(f"all: []\n{order}") == expected


def test_limit_keeps_the_first_members_in_order(shop: Shop) -> None:
    text = "all: []\norder_by: [lifetime_value desc]\nlimit: 2"
    assert shop.ranked(text) == ["loyal", "dormant"]


def test_member_ids_and_explanations_work_on_a_plain_connection(shop: Shop, engine: Engine) -> None:
    with engine.connect() as connection:
        found = segment_member_ids(
            connection, segment(SEEDS["dormant"]), rfm=Rfm(), as_of=AS_OF, timezone=JST
        )
        explanation = explain_customer(
            connection, segment(SEEDS["dormant"]), found[0], rfm=Rfm(), as_of=AS_OF, timezone=JST
        )
    assert found == [shop.ids["dormant"]]
    assert explanation.matches


def test_rows_carry_a_rank_from_one(shop: Shop) -> None:
    for text in ("orders_count: {gte: 1}", "all: []\norder_by: [rfm_r desc]\nlimit: 3"):
        query = segment_query(segment(text), rfm=Rfm(), as_of=AS_OF, timezone=JST)
        ranks = [row.rank for row in shop.session.execute(query)]
        assert ranks == list(range(1, len(ranks) + 1))


# What the SQL reads


def _sql(text: str) -> list[str]:
    """The segment's SQL as each engine would run it."""
    query = segment_query(segment(text), rfm=Rfm(), as_of=AS_OF, timezone=JST)
    dialects: list[Dialect] = [sqlite.dialect(), postgresql.dialect()]  # type: ignore[no-untyped-call]
    return [str(query.compile(dialect=dialect)) for dialect in dialects]


def test_a_segment_without_order_fields_does_not_read_orders() -> None:
    for sql in _sql("subscription_status: cancel_requested"):
        assert "orders" not in sql


def test_a_segment_only_over_customers_with_orders_skips_the_customers_table() -> None:
    for sql in _sql("all: [{orders_count: 1}, {first_order_days_ago: {between: [14, 45]}}]"):
        assert "customers" not in sql
        assert "GROUP BY" in sql


def test_a_segment_that_may_match_customers_without_orders_keeps_them() -> None:
    for sql in _sql("orders_count: {lt: 2}"):
        assert "LEFT OUTER JOIN" in sql


# Explanations


def test_explanation_shows_each_condition_with_the_customers_value(shop: Shop) -> None:
    checks = shop.explain(SEEDS["F2 follow-up"], "canceller")
    assert checks == [
        LeafCheck("orders_count equals 1", False, 2),
        LeafCheck("first_order_days_ago between 14 and 45", False, 174),
        LeafCheck(
            "not: subscription_status in [active, paused]", False, ["cancel_requested", "paused"]
        ),
    ]


def test_explanation_of_a_member(shop: Shop) -> None:
    checks = shop.explain(SEEDS["F2 follow-up"], "newbie")
    assert checks == [
        LeafCheck("orders_count equals 1", True, 1),
        LeafCheck("first_order_days_ago between 14 and 45", True, 14),
        LeafCheck("not: subscription_status in [active, paused]", True, []),
    ]


def test_explanation_of_a_customer_without_orders_shows_no_value(shop: Shop) -> None:
    checks = shop.explain(SEEDS["dormant"], "never_ordered")
    assert checks == [
        LeafCheck("orders_count gte 2", False, 0),
        LeafCheck("last_order_days_ago gt 180", False, None),
        LeafCheck("not: subscription_status equals active", True, []),
    ]


def test_explanation_names_the_mailing_and_the_month(shop: Shop) -> None:
    text = """
        any:
          - days_since_mailing: {mailing: winter-dm-2026, between: [3, 10]}
          - birthday_month: current
          - subscription_cycle_days: {gte: 60}
          - bought_sku: AOJIRU-30
          - average_order_value: {lt: 2500}
          - rfm_r: 5
          - customer_since_days: {gt: 100}
    """
    checks = shop.explain(text, "canceller")
    assert checks == [
        LeafCheck("days_since_mailing (winter-dm-2026) between 3 and 10", False, 11),
        LeafCheck("birthday_month equals current (11)", True, 11),
        LeafCheck("subscription_cycle_days gte 60", True, [45, 60]),
        LeafCheck("bought_sku equals AOJIRU-30", False, ["AOJIRU-90"]),
        LeafCheck("average_order_value lt 2500", False, 3000.0),
        LeafCheck("rfm_r equals 5", False, 4),
        LeafCheck("customer_since_days gt 100", True, 174),
    ]


def test_explaining_an_unknown_customer_is_a_clear_error(shop: Shop) -> None:
    with pytest.raises(UnknownCustomerError, match="no customer with id"):
        explain_customer(
            shop.session, segment("orders_count: 1"), 999_999, rfm=Rfm(), as_of=AS_OF, timezone=JST
        )
