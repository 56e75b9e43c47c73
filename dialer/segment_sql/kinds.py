"""How each kind of segment field compiles: one value per customer, a "days ago" instant, or
many values (orders, subscriptions, mailings) of which any may match.

Every leaf compiles to a predicate that is never NULL (true or false, no SQL unknown), so that
`not` is the exact complement of what it negates: a missing value fails every test.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from dialer.campaigns.segments import Between, OneOf, Op
from dialer.models import Mailing
from dialer.segment_sql.days import DayCounter, day_ranges, instant_in
from dialer.segment_sql.needs import Leaf

#: Separates listed values in `why` output; no SKU or status contains it.
_LIST_SEPARATOR = "\x1f"

_SQL_OPERATORS: Mapping[Op, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    Op.EQUALS: operator.eq,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


@dataclass(frozen=True)
class SortKey:
    """One `order_by` key; customers without a value sort last in either direction."""

    value: sa.ColumnElement[Any]
    descending: bool

    def clause(self, value: sa.ColumnElement[Any] | None = None) -> sa.UnaryExpression[Any]:
        """The ORDER BY term, on `value` when the key was carried through a subquery."""
        target = self.value if value is None else value
        ordered = target.desc() if self.descending else target.asc()
        return ordered.nulls_last()


class FieldSql(Protocol):
    """What the compiler and `why` need from one field."""

    def holds(self, leaf: Leaf) -> sa.ColumnElement[bool]:
        """The leaf as a predicate that is true or false, never NULL."""
        ...

    def shown(self) -> sa.ColumnElement[Any]:
        """The customer's raw value, selected by `why`."""
        ...

    def present(self, raw: Any) -> object:
        """The raw value as `why` shows it."""
        ...

    def sort_key(self, descending: bool) -> SortKey:
        """How `order_by` sorts on this field."""
        ...


def compare(value: sa.ColumnElement[Any], leaf: Leaf) -> sa.ColumnElement[bool]:
    """`value` tested by a leaf's operator."""
    if isinstance(leaf, Between):
        return value.between(leaf.low, leaf.high)
    if isinstance(leaf, OneOf):
        return value.in_(leaf.values)
    return _SQL_OPERATORS[leaf.op](value, leaf.value)


def definite(predicate: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """`predicate`, with NULL (a missing value) read as false."""
    return sa.func.coalesce(predicate, sa.false())


def as_number(raw: Any) -> object:
    return None if raw is None else float(raw)


def as_whole(raw: Any) -> object:
    return None if raw is None else int(raw)


@dataclass(frozen=True)
class Scalar:
    """A field with at most one value per customer, compared directly."""

    value: sa.ColumnElement[Any]
    nullable: bool
    convert: Callable[[Any], object] = as_whole
    resolve: Callable[[Leaf], Leaf] = field(default=lambda leaf: leaf)

    def holds(self, leaf: Leaf) -> sa.ColumnElement[bool]:
        predicate = compare(self.value, self.resolve(leaf))
        return definite(predicate) if self.nullable else predicate

    def shown(self) -> sa.ColumnElement[Any]:
        return self.value

    def present(self, raw: Any) -> object:
        return self.convert(raw)

    def sort_key(self, descending: bool) -> SortKey:
        return SortKey(self.value, descending)


@dataclass(frozen=True)
class Instant:
    """A "days ago" field: tested as a range of instants, so indexes apply (see `days`)."""

    instant: sa.ColumnElement[datetime]
    nullable: bool
    counter: DayCounter

    def holds(self, leaf: Leaf) -> sa.ColumnElement[bool]:
        predicate = instant_in(self.instant, day_ranges(leaf), self.counter)
        return definite(predicate) if self.nullable else predicate

    def shown(self) -> sa.ColumnElement[Any]:
        return self.instant

    def present(self, raw: Any) -> object:
        return None if raw is None else self.counter.days_ago(raw)

    def sort_key(self, descending: bool) -> SortKey:
        """More days ago is an earlier instant; within a day, the exact time decides."""
        return SortKey(self.instant, not descending)


@dataclass(frozen=True)
class Membership:
    """A field with a value per order or subscription: a leaf holds when any of them matches."""

    column: sa.ColumnElement[Any]
    owner: sa.ColumnElement[int]
    subject: sa.ColumnElement[int]
    convert: Callable[[str], Any] = str

    def holds(self, leaf: Leaf) -> sa.ColumnElement[bool]:
        return sa.exists().where(self.owner == self.subject, compare(self.column, leaf))

    def shown(self) -> sa.ColumnElement[Any]:
        listed = sa.func.aggregate_strings(sa.cast(self.column, sa.String), _LIST_SEPARATOR)
        return sa.select(listed).where(self.owner == self.subject).scalar_subquery()

    def present(self, raw: Any) -> object:
        values = {self.convert(item) for item in raw.split(_LIST_SEPARATOR)} if raw else set()
        return sorted(values)

    def sort_key(self, descending: bool) -> SortKey:
        """Sorts by the smallest value (for cycle days: the most frequent delivery)."""
        smallest = sa.select(sa.func.min(self.column)).where(self.owner == self.subject)
        return SortKey(smallest.scalar_subquery(), descending)


@dataclass(frozen=True)
class MailingDays:
    """Days since the named mailing was sent to the customer (at most one per customer)."""

    mailing: str
    subject: sa.ColumnElement[int]
    counter: DayCounter

    def holds(self, leaf: Leaf) -> sa.ColumnElement[bool]:
        sent = instant_in(Mailing.sent_at.expression, day_ranges(leaf), self.counter)
        return sa.exists().where(self._this_mailing(), sent)

    def shown(self) -> sa.ColumnElement[Any]:
        return sa.select(sa.func.max(Mailing.sent_at)).where(self._this_mailing()).scalar_subquery()

    def present(self, raw: Any) -> object:
        return None if raw is None else self.counter.days_ago(raw)

    def sort_key(self, descending: bool) -> SortKey:
        raise ValueError("days_since_mailing cannot sort a list")

    def _this_mailing(self) -> sa.ColumnElement[bool]:
        return sa.and_(Mailing.customer_id == self.subject, Mailing.mailing == self.mailing)
