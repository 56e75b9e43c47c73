"""Why one customer is (or is not) in a segment: each condition, the customer's value, the verdict.

Supervisors ask "why was this person called?" more than anything else; `dialer why` and the
dashboard's customer page show this. Verdicts come from the same SQL as the list build, in one
query for the customer, so the explanation can never disagree with the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segments import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Condition,
    Not,
    OneOf,
    RelativeMonth,
    Segment,
    Value,
)
from dialer.errors import DialerError
from dialer.models import Customer
from dialer.segment_sql.compiler import build_fields, where_clause
from dialer.segment_sql.days import DayCounter
from dialer.segment_sql.needs import Leaf, Needs, Stat


class UnknownCustomerError(DialerError):
    """No customer has this id."""


class LeafCheck(NamedTuple):
    """One condition as written (`not: …` when negated), whether it holds, and the value."""

    condition: str
    holds: bool
    value: object


@dataclass(frozen=True)
class Explanation:
    """`matches`: the segment's conditions hold (its `limit` may still leave the customer out)."""

    customer_id: int
    matches: bool
    checks: tuple[LeafCheck, ...]


_EVERYTHING = Needs(stats=frozenset(Stat), customer_row=True, orders_required=False)


def explain_customer(
    conn: Session | Connection,
    segment: Segment,
    customer_id: int,
    *,
    rfm: Rfm,
    as_of: datetime,
    timezone: ZoneInfo,
) -> Explanation:
    """Each condition of `segment` checked for one customer, as of `as_of` in `timezone`."""
    fields = build_fields(
        _EVERYTHING, rfm=rfm, as_of=as_of, timezone=timezone, customer_id=customer_id
    )
    checked = list(_checked(segment.where))
    columns: list[sa.ColumnElement[Any]] = [where_clause(segment.where, fields)]
    for negated, leaf in checked:
        field = fields.of(leaf.ref)
        holds = field.holds(leaf)
        columns += [sa.not_(holds) if negated else holds, field.shown()]
    query = sa.select(*columns).select_from(fields.sources.from_clause)
    row = conn.execute(query.where(Customer.id == customer_id)).one_or_none()
    if row is None:
        raise UnknownCustomerError(f"no customer with id {customer_id}")
    checks = []
    for index, (negated, leaf) in enumerate(checked):
        holds, raw = row[1 + 2 * index], row[2 + 2 * index]
        text = describe(leaf, fields.counter)
        value = fields.of(leaf.ref).present(raw)
        checks.append(LeafCheck(f"not: {text}" if negated else text, bool(holds), value))
    return Explanation(customer_id, bool(row[0]), tuple(checks))


def _checked(condition: Condition) -> Iterator[tuple[bool, Leaf]]:
    """The leaves to report, with `not` folded into a leaf it wraps directly."""
    if isinstance(condition, AllOf | AnyOf):
        for child in condition.conditions:
            yield from _checked(child)
    elif isinstance(condition, Not):
        inner = condition.condition
        if isinstance(inner, Compare | Between | OneOf):
            yield True, inner
        else:
            yield from _checked(inner)
    else:
        yield False, condition


def describe(leaf: Leaf, counter: DayCounter) -> str:
    """A leaf in words close to campaigns.yaml: `first_order_days_ago between 14 and 45`."""
    name = leaf.ref.field.value
    if leaf.ref.mailing is not None:
        name = f"{name} ({leaf.ref.mailing})"
    if isinstance(leaf, Between):
        return f"{name} between {leaf.low} and {leaf.high}"
    if isinstance(leaf, OneOf):
        listed = ", ".join(_shown_value(value, counter) for value in leaf.values)
        return f"{name} in [{listed}]"
    return f"{name} {leaf.op.value} {_shown_value(leaf.value, counter)}"


def _shown_value(value: Value, counter: DayCounter) -> str:
    if isinstance(value, RelativeMonth):
        return f"{value.value} ({counter.month(value)})"
    return str(value)
