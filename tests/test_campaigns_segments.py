"""The segment language: every field, every operator, the tree, the ordering, and the errors."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.campaigns.segment_parser import SegmentError, parse_segment
from dialer.campaigns.segments import (
    FIELDS,
    AllOf,
    AnyOf,
    Between,
    Compare,
    FieldRef,
    Not,
    OneOf,
    Op,
    OrderKey,
    RelativeMonth,
    Segment,
    SegmentField,
    SubscriptionStatus,
)

F = SegmentField


def ref(field: SegmentField, mailing: str | None = None) -> FieldRef:
    return FieldRef(field, mailing)


def errors(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(SegmentError) as caught:
        parse_segment(data)
    return [(issue.loc, issue.message) for issue in caught.value.issues]


SAMPLE_VALUES: dict[SegmentField, Any] = {
    F.ORDERS_COUNT: 1,
    F.LIFETIME_VALUE: 20000,
    F.AVERAGE_ORDER_VALUE: 3980.5,
    F.FIRST_ORDER_VALUE: 1980,
    F.FIRST_ORDER_DAYS_AGO: 30,
    F.LAST_ORDER_DAYS_AGO: 181,
    F.BOUGHT_SKU: "AOJIRU-30",
    F.BIRTHDAY_MONTH: 12,
    F.SUBSCRIPTION_STATUS: "active",
    F.SUBSCRIPTION_CYCLE_DAYS: 30,
    F.RFM_R: 5,
    F.RFM_F: 1,
    F.RFM_M: 3,
    F.CUSTOMER_SINCE_DAYS: 400,
}


@pytest.mark.parametrize("field", list(SAMPLE_VALUES), ids=str)
def test_bare_value_means_equals(field: SegmentField) -> None:
    value = SAMPLE_VALUES[field]
    assert parse_segment({field.value: value}).where == Compare(ref(field), Op.EQUALS, value)


def test_every_field_but_the_mailing_one_has_a_sample() -> None:
    assert set(FIELDS) - set(SAMPLE_VALUES) == {F.DAYS_SINCE_MAILING}


@pytest.mark.parametrize("op", ["equals", "gt", "gte", "lt", "lte"])
def test_comparison_operators(op: str) -> None:
    where = parse_segment({"orders_count": {op: 2}}).where
    assert where == Compare(ref(F.ORDERS_COUNT), Op(op), 2)


def test_between_is_inclusive_range() -> None:
    where = parse_segment({"first_order_days_ago": {"between": [14, 45]}}).where
    assert where == Between(ref(F.FIRST_ORDER_DAYS_AGO), 14, 45)


def test_in_lists_values() -> None:
    where = parse_segment({"bought_sku": {"in": ["AOJIRU-30", "AOJIRU-90"]}}).where
    assert where == OneOf(ref(F.BOUGHT_SKU), ("AOJIRU-30", "AOJIRU-90"))


def test_not_negates_a_value() -> None:
    where = parse_segment({"subscription_status": {"not": "cancelled"}}).where
    assert where == Not(Compare(ref(F.SUBSCRIPTION_STATUS), Op.EQUALS, "cancelled"))


def test_not_negates_a_nested_operator() -> None:
    where = parse_segment({"subscription_status": {"not": {"in": ["active", "paused"]}}}).where
    assert where == Not(OneOf(ref(F.SUBSCRIPTION_STATUS), ("active", "paused")))


def test_several_operators_on_one_field_all_hold() -> None:
    where = parse_segment({"orders_count": {"gte": 2, "lte": 5}}).where
    count = ref(F.ORDERS_COUNT)
    assert where == AllOf((Compare(count, Op.GTE, 2), Compare(count, Op.LTE, 5)))


def test_all_any_not_build_the_tree() -> None:
    segment = parse_segment(
        {
            "all": [
                {"orders_count": 1},
                {"any": [{"rfm_r": {"gte": 4}}, {"bought_sku": "AOJIRU-30"}]},
                {"not": {"subscription_status": "active"}},
            ]
        }
    )
    assert segment.where == AllOf(
        (
            Compare(ref(F.ORDERS_COUNT), Op.EQUALS, 1),
            AnyOf(
                (
                    Compare(ref(F.RFM_R), Op.GTE, 4),
                    Compare(ref(F.BOUGHT_SKU), Op.EQUALS, "AOJIRU-30"),
                )
            ),
            Not(Compare(ref(F.SUBSCRIPTION_STATUS), Op.EQUALS, "active")),
        )
    )


def test_several_keys_in_one_mapping_all_hold() -> None:
    where = parse_segment({"orders_count": 1, "rfm_m": 5}).where
    assert where == AllOf(
        (Compare(ref(F.ORDERS_COUNT), Op.EQUALS, 1), Compare(ref(F.RFM_M), Op.EQUALS, 5))
    )


def test_empty_all_matches_everyone() -> None:
    assert parse_segment({"all": []}) == Segment(AllOf(()))


def test_days_since_mailing_carries_the_mailing_name() -> None:
    data = {"days_since_mailing": {"mailing": "winter-dm-2026", "between": [3, 10]}}
    where = parse_segment(data).where
    assert where == Between(ref(F.DAYS_SINCE_MAILING, "winter-dm-2026"), 3, 10)


def test_birthday_month_takes_current_and_next() -> None:
    where = parse_segment({"birthday_month": {"in": ["current", "next", 1]}}).where
    assert isinstance(where, OneOf)
    assert where.values == (RelativeMonth.CURRENT, RelativeMonth.NEXT, 1)


def test_subscription_status_becomes_the_enum() -> None:
    where = parse_segment({"subscription_status": "cancel_requested"}).where
    assert isinstance(where, Compare)
    assert where.value is SubscriptionStatus.CANCEL_REQUESTED


def test_order_by_and_limit() -> None:
    segment = parse_segment(
        {
            "rfm_f": {"gte": 4},
            "order_by": ["lifetime_value desc", "last_order_days_ago"],
            "limit": 200,
        }
    )
    assert segment.order_by == (
        OrderKey(F.LIFETIME_VALUE, descending=True),
        OrderKey(F.LAST_ORDER_DAYS_AGO, descending=False),
    )
    assert segment.limit == 200


def test_order_by_accepts_a_single_string() -> None:
    segment = parse_segment({"orders_count": 1, "order_by": "first_order_value DESC"})
    assert segment.order_by == (OrderKey(F.FIRST_ORDER_VALUE, descending=True),)


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        (
            {"orders_cont": 1},
            ("orders_cont",),
            "unknown segment field 'orders_cont' (did you mean 'orders_count'?)",
        ),
        (
            {"orders_count": {"gtee": 1}},
            ("orders_count", "gtee"),
            "unknown operator 'gtee' (did you mean 'gte'?)",
        ),
        (
            {"orders_count": -1},
            ("orders_count",),
            "expected a whole number, 0 or more, got the number -1",
        ),
        ({"orders_count": 1.5}, ("orders_count",), "expected a whole number"),
        ({"orders_count": True}, ("orders_count",), "got true"),
        ({"lifetime_value": "lots"}, ("lifetime_value",), "expected an amount in yen"),
        ({"rfm_r": 6}, ("rfm_r",), "expected an RFM score from 1 to 5, got the number 6"),
        ({"rfm_m": {"in": [1, 0]}}, ("rfm_m", "in", 1), "expected an RFM score"),
        ({"birthday_month": 13}, ("birthday_month",), "expected a month 1-12, current or next"),
        ({"birthday_month": "now"}, ("birthday_month",), "expected a month 1-12"),
        (
            {"subscription_status": "canceled"},
            ("subscription_status",),
            "(did you mean 'cancelled'?)",
        ),
        ({"bought_sku": 12345}, ("bought_sku",), 'write SKUs in quotes, e.g. "12345"'),
        (
            {"bought_sku": {"gt": "A"}},
            ("bought_sku", "gt"),
            "bought_sku cannot be compared with gt",
        ),
        (
            {"orders_count": {"between": [5, 2]}},
            ("orders_count", "between"),
            "between: [5, 2] is empty",
        ),
        ({"orders_count": {"between": [1]}}, ("orders_count", "between"), "expects two numbers"),
        (
            {"orders_count": {"between": [1, "x"]}},
            ("orders_count", "between", 1),
            "expected a whole number",
        ),
        ({"orders_count": {"in": []}}, ("orders_count", "in"), "expects a non-empty list"),
        ({"orders_count": {}}, ("orders_count",), "needs an operator"),
        ({"days_since_mailing": {"lte": 10}}, ("days_since_mailing",), "needs the mailing's name"),
        ({"days_since_mailing": 5}, ("days_since_mailing",), "needs the mailing's name"),
        (
            {"orders_count": {"mailing": "dm", "gte": 1}},
            ("orders_count", "mailing"),
            "only days_since_mailing takes a mailing",
        ),
        ({"any": []}, ("any",), "any: [] matches nobody"),
        ({"all": {"orders_count": 1}}, ("all",), "expects a list of conditions"),
        ({"all": [5]}, ("all", 0), "expected a condition such as {orders_count: 1}"),
        (
            {"not": {"all": [{"limit": 5}]}},
            ("not", "all", 0, "limit"),
            "belongs at the top of segment",
        ),
        (
            {"orders_count": 1, "order_by": ["bought_sku"]},
            ("order_by", 0),
            "a field that cannot sort 'bought_sku'",
        ),
        (
            {"orders_count": 1, "order_by": ["lifetim_value desc"]},
            ("order_by", 0),
            "(did you mean 'lifetime_value'?)",
        ),
        (
            {"orders_count": 1, "order_by": ["lifetime_value down"]},
            ("order_by", 0),
            "expected 'field' or 'field desc'",
        ),
        ({"orders_count": 1, "limit": 0}, ("limit",), "1 or more"),
        ({"order_by": ["lifetime_value"]}, (), "has no condition"),
        ("everyone", (), "expected a mapping of conditions"),
    ],
    ids=lambda value: None if not isinstance(value, str) else value[:30],
)
def test_errors_are_located_and_explained(
    data: Any, loc: tuple[str | int, ...], fragment: str
) -> None:
    found = errors(data)
    assert any(where == loc and fragment in message for where, message in found), found


def test_every_error_is_collected() -> None:
    found = errors({"all": [{"orders_cont": 1}, {"rfm_r": 9}], "limit": -1})
    assert [loc for loc, _ in found] == [("all", 0, "orders_cont"), ("all", 1, "rfm_r"), ("limit",)]
