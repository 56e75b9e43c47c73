"""Where a segment query reads its customers from.

Three shapes, chosen from what the segment needs (`dialer.segment_sql.needs`); `order_stats` is
one GROUP BY over orders with only the aggregates the segment reads:

- `customers` alone, when no field reads the order aggregates;
- `customers LEFT JOIN order_stats`, when customers without orders may match (an inner join
  when they cannot, but a field reads the customer's own row);
- `order_stats` alone, when only customers with orders can match and nothing else is read.

The conditions stay in the outer WHERE rather than in a HAVING: PostgreSQL pushes those on the
aggregates down into the GROUP BY anyway, plans the subscription test as an anti-join, and
estimates the cost right. A correlated NOT EXISTS in HAVING is costed once per group, and the
inflated estimate switches on JIT compilation: about 0.3 s added to a 0.4 s query at 200,000
customers (bench/bench_segments.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dialer.models import Customer, Order
from dialer.segment_sql.needs import Needs, Stat

CUSTOMERS = Customer.__table__


@dataclass(frozen=True)
class Sources:
    """The FROM clause, the customer id everything correlates with, and the order aggregates."""

    subject: sa.ColumnElement[int]
    from_clause: sa.FromClause
    stats: Mapping[Stat, sa.ColumnElement[Any]]
    orders_required: bool

    def stat(self, stat: Stat) -> sa.ColumnElement[Any]:
        """An order aggregate: NULL for a customer without orders unless orders are required."""
        if stat not in self.stats:
            raise LookupError(f"the segment's needs did not include the aggregate {stat}")
        return self.stats[stat]

    def members(self, condition: sa.ColumnElement[bool]) -> sa.Select[int]:
        """The ids of the customers for whom `condition` holds (unordered)."""
        query = sa.select(self.subject.label("customer_id")).select_from(self.from_clause)
        return query.where(condition)


def plan_sources(needs: Needs, *, customer_id: int | None = None) -> Sources:
    """The cheapest FROM serving `needs`; `customer_id` narrows the aggregate to that customer."""
    customer = Customer.id.expression
    if not needs.stats:
        return Sources(customer, CUSTOMERS, {}, needs.orders_required)
    stats = order_stats(needs.stats, customer_id=customer_id)
    columns = {stat: stats.c[stat.value] for stat in needs.stats}
    if needs.orders_required and not needs.customer_row:
        return Sources(stats.c.customer_id, stats, columns, orders_required=True)
    joined = CUSTOMERS.join(
        stats, stats.c.customer_id == customer, isouter=not needs.orders_required
    )
    return Sources(customer, joined, columns, needs.orders_required)


def order_stats(stats: frozenset[Stat], *, customer_id: int | None = None) -> sa.Subquery:
    """One row per customer with orders, holding the requested aggregates."""
    aggregates: dict[Stat, sa.ColumnElement[Any]] = {
        Stat.ORDERS: sa.func.count(),
        Stat.TOTAL: sa.func.sum(Order.amount),
        Stat.FIRST_AT: sa.func.min(Order.ordered_at),
        Stat.LAST_AT: sa.func.max(Order.ordered_at),
    }
    columns = [aggregates[stat].label(stat.value) for stat in Stat if stat in stats]
    query = sa.select(Order.customer_id, *columns).group_by(Order.customer_id)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    return query.subquery("order_stats")
