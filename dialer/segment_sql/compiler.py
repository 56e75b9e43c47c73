"""A campaign's segment as one SELECT: the ordered member set, computed by the database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segments import AllOf, AnyOf, Condition, FieldRef, Not, Segment
from dialer.segment_sql.days import DayCounter
from dialer.segment_sql.fields import Fields
from dialer.segment_sql.kinds import SortKey
from dialer.segment_sql.needs import Needs, needs_of
from dialer.segment_sql.sources import plan_sources


def segment_query(
    segment: Segment, *, rfm: Rfm, as_of: datetime, timezone: ZoneInfo
) -> sa.Select[int, int]:
    """The segment's members as rows `(customer_id, rank)`, best first.

    `rank` counts from 1 in the segment's `order_by` order, ties broken by customer id, and at
    most `limit` rows come back. Days are whole calendar days in `timezone` up to the local date
    of `as_of` (an aware instant); see `dialer.segment_sql` for the semantics.
    """
    fields = build_fields(needs_of(segment, rfm), rfm=rfm, as_of=as_of, timezone=timezone)
    members = fields.sources.members(where_clause(segment.where, fields))
    keys = [fields.of(FieldRef(key.field)).sort_key(key.descending) for key in segment.order_by]
    keys.append(SortKey(fields.sources.subject, descending=False))
    if segment.limit is None:
        return _ranked(members, keys)
    return _ranked_top(members, keys, segment.limit)


def segment_member_ids(
    session_or_conn: Session | Connection,
    segment: Segment,
    *,
    rfm: Rfm,
    as_of: datetime,
    timezone: ZoneInfo,
) -> list[int]:
    """The members' customer ids in rank order."""
    query = segment_query(segment, rfm=rfm, as_of=as_of, timezone=timezone)
    return list(session_or_conn.execute(query).scalars())


def build_fields(
    needs: Needs,
    *,
    rfm: Rfm,
    as_of: datetime,
    timezone: ZoneInfo,
    customer_id: int | None = None,
) -> Fields:
    """The fields' SQL over the sources `needs` calls for."""
    sources = plan_sources(needs, customer_id=customer_id)
    return Fields(sources, DayCounter(as_of, timezone), rfm)


def where_clause(condition: Condition, fields: Fields) -> sa.ColumnElement[bool]:
    """The condition tree as one predicate that is never NULL."""
    if isinstance(condition, AllOf):
        return sa.and_(sa.true(), *(where_clause(child, fields) for child in condition.conditions))
    if isinstance(condition, AnyOf):
        return sa.or_(sa.false(), *(where_clause(child, fields) for child in condition.conditions))
    if isinstance(condition, Not):
        return sa.not_(where_clause(condition.condition, fields))
    return fields.of(condition.ref).holds(condition)


def _ranked(members: sa.Select[int], keys: list[SortKey]) -> sa.Select[int, int]:
    """Every member with its rank, sorted once (the window and the ORDER BY share the sort)."""
    order = [key.clause() for key in keys]
    rank = sa.func.row_number().over(order_by=order).label("rank")
    return members.add_columns(rank).order_by(*order)


def _ranked_top(members: sa.Select[int], keys: list[SortKey], limit: int) -> sa.Select[int, int]:
    """The first `limit` members: a top-N sort first, then the rank over those rows only."""
    labels = [key.value.label(f"sort_{index}") for index, key in enumerate(keys[:-1])]
    order = [key.clause() for key in keys]
    top = members.add_columns(*labels).order_by(*order).limit(limit).subquery("top_members")
    carried = [top.c[label.name] for label in labels] + [top.c.customer_id]
    outer_order = [key.clause(value) for key, value in zip(keys, carried, strict=True)]
    rank = sa.func.row_number().over(order_by=outer_order).label("rank")
    return sa.select(top.c.customer_id, rank).order_by(*outer_order)
