"""The SQL of each segment field over one set of sources, as of one instant.

A customer without orders has 0 orders and a lifetime value of 0; the fields that need an order
(average and first order value, the days since the first or last order, R) have no value for
them, so every leaf on such a field is false (see `kinds`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segments import Compare, FieldRef, OneOf, RelativeMonth, SegmentField, Value
from dialer.models import Customer, Order, Subscription
from dialer.segment_sql.days import DayCounter
from dialer.segment_sql.kinds import FieldSql, Instant, MailingDays, Membership, Scalar, as_number
from dialer.segment_sql.needs import Leaf, Stat
from dialer.segment_sql.sources import Sources


class Fields:
    """Every segment field's SQL over one set of sources, as of one instant."""

    def __init__(self, sources: Sources, counter: DayCounter, rfm: Rfm) -> None:
        self.sources = sources
        self.counter = counter
        self.rfm = rfm
        self.nullable = not sources.orders_required

    def of(self, ref: FieldRef) -> FieldSql:
        """The SQL of the field `ref` names."""
        if ref.field is SegmentField.DAYS_SINCE_MAILING:
            if ref.mailing is None:
                raise ValueError("days_since_mailing needs a mailing name")
            return MailingDays(ref.mailing, self.sources.subject, self.counter)
        return self._builders[ref.field](self)

    def orders_count(self) -> FieldSql:
        return Scalar(self._zero_when_missing(Stat.ORDERS), nullable=False)

    def lifetime_value(self) -> FieldSql:
        return Scalar(self._zero_when_missing(Stat.TOTAL), nullable=False)

    def average_order_value(self) -> FieldSql:
        total = sa.cast(self.sources.stat(Stat.TOTAL), sa.Float)
        average = total / self.sources.stat(Stat.ORDERS)
        return Scalar(average, self.nullable, convert=as_number)

    def first_order_value(self) -> FieldSql:
        order = aliased(Order, name="first_order")
        first = (
            sa.select(order.amount)
            .where(order.customer_id == self.sources.subject)
            .order_by(order.ordered_at, order.id)
            .limit(1)
            .scalar_subquery()
        )
        return Scalar(first, self.nullable)

    def first_order_days_ago(self) -> FieldSql:
        return Instant(self.sources.stat(Stat.FIRST_AT), self.nullable, self.counter)

    def last_order_days_ago(self) -> FieldSql:
        return Instant(self.sources.stat(Stat.LAST_AT), self.nullable, self.counter)

    def customer_since_days(self) -> FieldSql:
        """From the first order or the record's creation, whichever came first.

        An imported customer's `created_at` is the import time, so the first order is the
        better witness of when the relationship began; a customer without orders counts from
        the record.
        """
        first = self.sources.stat(Stat.FIRST_AT)
        since = sa.case((first < Customer.created_at, first), else_=Customer.created_at)
        return Instant(since, nullable=False, counter=self.counter)

    def bought_sku(self) -> FieldSql:
        order = aliased(Order, name="bought")
        return Membership(order.sku.expression, order.customer_id.expression, self.sources.subject)

    def birthday_month(self) -> FieldSql:
        month = sa.extract("month", Customer.birthday)
        return Scalar(month, nullable=True, resolve=self._resolve_month)

    def subscription_status(self) -> FieldSql:
        return Membership(
            Subscription.status.expression,
            Subscription.customer_id.expression,
            self.sources.subject,
        )

    def subscription_cycle_days(self) -> FieldSql:
        return Membership(
            Subscription.cycle_days.expression,
            Subscription.customer_id.expression,
            self.sources.subject,
            convert=int,
        )

    def rfm_r(self) -> FieldSql:
        """R by days since the last order: 5 within recency_days[0] … 1 beyond recency_days[3]."""
        last = self.sources.stat(Stat.LAST_AT)
        starts = [self.counter.start_of_day(limit) for limit in self.rfm.recency_days]
        whens = [(last >= start, _score(5 - index)) for index, start in enumerate(starts)]
        score = sa.case(*whens, else_=_score(1))
        if self.nullable:
            score = sa.case((last.is_(None), sa.null()), else_=score)
        return Scalar(score, self.nullable)

    def rfm_f(self) -> FieldSql:
        orders = self._zero_when_missing(Stat.ORDERS)
        return Scalar(_score_by(orders, self.rfm.frequency_orders, strict=False), nullable=False)

    def rfm_m(self) -> FieldSql:
        total = self._zero_when_missing(Stat.TOTAL)
        return Scalar(_score_by(total, self.rfm.monetary_yen, strict=True), nullable=False)

    def _zero_when_missing(self, stat: Stat) -> sa.ColumnElement[Any]:
        value = self.sources.stat(stat)
        return sa.func.coalesce(value, 0) if self.nullable else value

    def _resolve_month(self, leaf: Leaf) -> Leaf:
        if isinstance(leaf, Compare):
            return Compare(leaf.ref, leaf.op, self._month(leaf.value))
        if isinstance(leaf, OneOf):
            return OneOf(leaf.ref, tuple(self._month(value) for value in leaf.values))
        return leaf

    def _month(self, value: Value) -> Value:
        return self.counter.month(value) if isinstance(value, RelativeMonth) else value

    _builders: Mapping[SegmentField, Callable[[Fields], FieldSql]] = {
        SegmentField.ORDERS_COUNT: orders_count,
        SegmentField.LIFETIME_VALUE: lifetime_value,
        SegmentField.AVERAGE_ORDER_VALUE: average_order_value,
        SegmentField.FIRST_ORDER_VALUE: first_order_value,
        SegmentField.FIRST_ORDER_DAYS_AGO: first_order_days_ago,
        SegmentField.LAST_ORDER_DAYS_AGO: last_order_days_ago,
        SegmentField.CUSTOMER_SINCE_DAYS: customer_since_days,
        SegmentField.BOUGHT_SKU: bought_sku,
        SegmentField.BIRTHDAY_MONTH: birthday_month,
        SegmentField.SUBSCRIPTION_STATUS: subscription_status,
        SegmentField.SUBSCRIPTION_CYCLE_DAYS: subscription_cycle_days,
        SegmentField.RFM_R: rfm_r,
        SegmentField.RFM_F: rfm_f,
        SegmentField.RFM_M: rfm_m,
    }


def _score(score: int) -> sa.ColumnElement[int]:
    return sa.literal_column(str(score), sa.Integer)


def _score_by(
    value: sa.ColumnElement[Any], limits: tuple[int, ...], *, strict: bool
) -> sa.ColumnElement[int]:
    """1 plus the number of `limits` that `value` reaches (`strict`: passes)."""
    ranked = list(enumerate(limits, start=2))[::-1]
    whens = [
        ((value > limit) if strict else (value >= limit), _score(score)) for score, limit in ranked
    ]
    return sa.case(*whens, else_=_score(1))
