"""What a segment needs from the database, decided before any SQL is built.

A segment that only tests `subscription_status` must not aggregate millions of orders, and one
that only keeps customers who ordered should not carry every customer through the aggregate
join. Both are decided here by looking at the tree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segments import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Condition,
    Not,
    OneOf,
    Op,
    Segment,
    SegmentField,
)

Leaf = Compare | Between | OneOf
"""A condition on one field; the tree's other nodes only combine leaves."""


class Stat(StrEnum):
    """A per-customer aggregate over orders."""

    ORDERS = "orders"
    TOTAL = "total"
    FIRST_AT = "first_at"
    LAST_AT = "last_at"


FIELD_STATS: Mapping[SegmentField, frozenset[Stat]] = {
    SegmentField.ORDERS_COUNT: frozenset({Stat.ORDERS}),
    SegmentField.LIFETIME_VALUE: frozenset({Stat.TOTAL}),
    SegmentField.AVERAGE_ORDER_VALUE: frozenset({Stat.ORDERS, Stat.TOTAL}),
    SegmentField.FIRST_ORDER_DAYS_AGO: frozenset({Stat.FIRST_AT}),
    SegmentField.LAST_ORDER_DAYS_AGO: frozenset({Stat.LAST_AT}),
    SegmentField.RFM_R: frozenset({Stat.LAST_AT}),
    SegmentField.RFM_F: frozenset({Stat.ORDERS}),
    SegmentField.RFM_M: frozenset({Stat.TOTAL}),
    SegmentField.CUSTOMER_SINCE_DAYS: frozenset({Stat.FIRST_AT}),
}
"""The order aggregates each field reads; fields not listed read none."""

CUSTOMER_ROW_FIELDS = frozenset({SegmentField.BIRTHDAY_MONTH, SegmentField.CUSTOMER_SINCE_DAYS})
"""Fields read from the customer's own row (the rest need only the customer's id)."""

_FALSE_WITHOUT_ORDERS = frozenset(
    {
        SegmentField.AVERAGE_ORDER_VALUE,
        SegmentField.FIRST_ORDER_VALUE,
        SegmentField.FIRST_ORDER_DAYS_AGO,
        SegmentField.LAST_ORDER_DAYS_AGO,
        SegmentField.BOUGHT_SKU,
        SegmentField.RFM_R,
    }
)
"""Fields with no value for a customer who never ordered, so every leaf on them is false."""


@dataclass(frozen=True)
class Needs:
    """The data a segment reads, and whether it can ever match a customer without orders."""

    stats: frozenset[Stat]
    customer_row: bool
    orders_required: bool


def needs_of(segment: Segment, rfm: Rfm) -> Needs:
    """What `segment` reads, from its conditions and its sort keys."""
    fields = {leaf.ref.field for leaf in leaves(segment.where)}
    fields |= {key.field for key in segment.order_by}
    stats = frozenset().union(*(FIELD_STATS.get(field, frozenset()) for field in fields))
    return Needs(
        stats=stats,
        customer_row=bool(fields & CUSTOMER_ROW_FIELDS),
        orders_required=holds_without_orders(segment.where, rfm) is False,
    )


def leaves(condition: Condition) -> Iterator[Leaf]:
    """Every leaf of the tree, left to right."""
    if isinstance(condition, AllOf | AnyOf):
        for child in condition.conditions:
            yield from leaves(child)
    elif isinstance(condition, Not):
        yield from leaves(condition.condition)
    else:
        yield condition


def holds_without_orders(condition: Condition, rfm: Rfm) -> bool | None:
    """Whether `condition` holds for a customer who never ordered; None when other data decides.

    Evaluated in three-valued (Kleene) logic: a definite False means such customers can never
    match, so the aggregate can be joined as an inner join.
    """
    if isinstance(condition, Not):
        inner = holds_without_orders(condition.condition, rfm)
        return None if inner is None else not inner
    if isinstance(condition, AllOf | AnyOf):
        results = [holds_without_orders(child, rfm) for child in condition.conditions]
        decisive = isinstance(condition, AnyOf)
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    return _leaf_without_orders(condition, rfm)


def _leaf_without_orders(leaf: Leaf, rfm: Rfm) -> bool | None:
    field = leaf.ref.field
    if field in _FALSE_WITHOUT_ORDERS:
        return False
    known: dict[SegmentField, float] = {
        SegmentField.ORDERS_COUNT: 0,
        SegmentField.LIFETIME_VALUE: 0,
        SegmentField.RFM_F: rfm.frequency_score(0),
        SegmentField.RFM_M: rfm.monetary_score(0),
    }
    return leaf_holds(leaf, known[field]) if field in known else None


_OPERATORS: Mapping[Op, Callable[[float, float], bool]] = {
    Op.EQUALS: operator.eq,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


def leaf_holds(leaf: Leaf, value: float) -> bool:
    """A numeric leaf evaluated in Python against a known value."""
    if isinstance(leaf, Between):
        return leaf.low <= value <= leaf.high
    if isinstance(leaf, OneOf):
        return value in leaf.values
    return not isinstance(leaf.value, str) and _OPERATORS[leaf.op](value, leaf.value)
