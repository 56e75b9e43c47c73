"""The segment language: which customers a campaign calls, and in which order.

In campaigns.yaml a campaign's `segment:` is a mapping::

    segment:
      all:                                      # every condition holds
        - orders_count: 1                       # bare value: equals
        - first_order_days_ago: {between: [14, 45]}
        - any:                                  # at least one holds
            - bought_sku: AOJIRU-30
            - bought_sku: {in: [SUPPLI-A, SUPPLI-B]}
        - not: {subscription_status: cancelled}
        - days_since_mailing: {mailing: winter-dm-2026, between: [3, 10]}
      order_by: [first_order_value desc, last_order_days_ago]
      limit: 500

A condition mapping with several keys means all of them (so does a field with several
operators: `{gte: 2, lte: 5}`). Operators: a bare value (equals), `equals`, `gt`, `gte`, `lt`,
`lte`, `between: [lo, hi]` (inclusive), `in: [...]`, and `not` (negates a value or a nested
operator mapping). Field values are checked per field (see `FIELDS`); `birthday_month` also
takes `current` or `next`, counted on the day the list is built, in the campaign's time zone.

The parsed tree, what `dialer.campaigns.segment_parser.parse_segment` returns and what the list
builder compiles to SQL, is made of the frozen dataclasses below:

    Segment(where: Condition, order_by: tuple[OrderKey, ...], limit: int | None)
    Condition = AllOf | AnyOf | Not | Compare | Between | OneOf
      AllOf(conditions)  AnyOf(conditions)  Not(condition)      # the tree
      Compare(ref, op, value)   Between(ref, low, high)   OneOf(ref, values)   # the leaves
    FieldRef(field: SegmentField, mailing: str | None)   # mailing only for days_since_mailing
    OrderKey(field: SegmentField, descending: bool)

An empty `AllOf` matches every customer. Values are plain `int`/`float`/`str`, or the enums
`SubscriptionStatus` and `RelativeMonth` (both `str` subclasses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum


class SegmentField(StrEnum):
    """A customer attribute a segment can test."""

    ORDERS_COUNT = "orders_count"
    LIFETIME_VALUE = "lifetime_value"
    AVERAGE_ORDER_VALUE = "average_order_value"
    FIRST_ORDER_VALUE = "first_order_value"
    FIRST_ORDER_DAYS_AGO = "first_order_days_ago"
    LAST_ORDER_DAYS_AGO = "last_order_days_ago"
    BOUGHT_SKU = "bought_sku"
    BIRTHDAY_MONTH = "birthday_month"
    SUBSCRIPTION_STATUS = "subscription_status"
    SUBSCRIPTION_CYCLE_DAYS = "subscription_cycle_days"
    DAYS_SINCE_MAILING = "days_since_mailing"
    RFM_R = "rfm_r"
    RFM_F = "rfm_f"
    RFM_M = "rfm_m"
    CUSTOMER_SINCE_DAYS = "customer_since_days"


class ValueKind(Enum):
    """What values a field takes, which decides the operators it allows."""

    COUNT = "a whole number, 0 or more"
    YEN = "an amount in yen, 0 or more"
    SCORE = "an RFM score from 1 to 5"
    SKU = "a product code (SKU) in quotes"
    MONTH = "a month 1-12, current or next"
    STATUS = "a subscription status"


FIELDS: Mapping[SegmentField, ValueKind] = {
    SegmentField.ORDERS_COUNT: ValueKind.COUNT,
    SegmentField.LIFETIME_VALUE: ValueKind.YEN,
    SegmentField.AVERAGE_ORDER_VALUE: ValueKind.YEN,
    SegmentField.FIRST_ORDER_VALUE: ValueKind.YEN,
    SegmentField.FIRST_ORDER_DAYS_AGO: ValueKind.COUNT,
    SegmentField.LAST_ORDER_DAYS_AGO: ValueKind.COUNT,
    SegmentField.BOUGHT_SKU: ValueKind.SKU,
    SegmentField.BIRTHDAY_MONTH: ValueKind.MONTH,
    SegmentField.SUBSCRIPTION_STATUS: ValueKind.STATUS,
    SegmentField.SUBSCRIPTION_CYCLE_DAYS: ValueKind.COUNT,
    SegmentField.DAYS_SINCE_MAILING: ValueKind.COUNT,
    SegmentField.RFM_R: ValueKind.SCORE,
    SegmentField.RFM_F: ValueKind.SCORE,
    SegmentField.RFM_M: ValueKind.SCORE,
    SegmentField.CUSTOMER_SINCE_DAYS: ValueKind.COUNT,
}
"""Every field and the kind of value it takes."""

ORDERED_KINDS = frozenset({ValueKind.COUNT, ValueKind.YEN, ValueKind.SCORE})
"""Kinds that allow gt/gte/lt/lte/between and can sort a list (`order_by`)."""

ORDERABLE = frozenset(
    name
    for name, kind in FIELDS.items()
    if kind in ORDERED_KINDS and name is not SegmentField.DAYS_SINCE_MAILING
)
"""Fields `order_by` accepts (days_since_mailing needs a mailing name, so it cannot sort)."""


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"


class RelativeMonth(StrEnum):
    """A birthday month counted from the day the list is built."""

    CURRENT = "current"
    NEXT = "next"


class Op(StrEnum):
    """A comparison between a field and one value."""

    EQUALS = "equals"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


Value = int | float | str
"""A field value: int/float for counts, yen and scores; str (maybe an enum) for the others."""


@dataclass(frozen=True)
class FieldRef:
    """The field a leaf tests; `mailing` names the mailing for `days_since_mailing` only."""

    field: SegmentField
    mailing: str | None = None


@dataclass(frozen=True)
class Compare:
    ref: FieldRef
    op: Op
    value: Value


@dataclass(frozen=True)
class Between:
    """`low <= field <= high`."""

    ref: FieldRef
    low: int | float
    high: int | float


@dataclass(frozen=True)
class OneOf:
    ref: FieldRef
    values: tuple[Value, ...]


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    condition: Condition


Condition = AllOf | AnyOf | Not | Compare | Between | OneOf


@dataclass(frozen=True)
class OrderKey:
    field: SegmentField
    descending: bool = False


@dataclass(frozen=True)
class Segment:
    """A campaign's audience: who (`where`), in which order, and at most how many."""

    where: Condition
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = None
