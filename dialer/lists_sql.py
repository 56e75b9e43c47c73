"""The statements of one list build, each joined to a temporary table of the build's members.

`dialer.lists` says what a build does and in which order; this module holds the SQL. The member
table is filled once (segment, dialable phone and suppression reason judged in one
INSERT … SELECT), then every write is a single UPDATE … FROM or INSERT … SELECT against it, and
a row is only written when one of its values changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dialer.models import CallListEntry, EntryState, UTCDateTime
from dialer.suppression import (
    PRECEDENCE,
    SuppressionContext,
    SuppressionReason,
    dialable_phone,
    reason_expression,
)

#: `closed_reason` of an entry retired because its customer left the segment.
LEFT_SEGMENT: Final = "left_segment"

_metadata = sa.MetaData()
_members = sa.Table(
    "call_list_build_members",
    _metadata,
    sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("in_segment", sa.Boolean, nullable=False),
    sa.Column("rank", sa.Integer),
    sa.Column("phone", sa.String(16)),
    sa.Column("reason", sa.String(32)),
    prefixes=["TEMPORARY"],
)


@contextmanager
def member_table(connection: Connection) -> Iterator[sa.Table]:
    """The temporary table of this build's members, dropped before the transaction ends (a
    failed build rolls its creation back with everything else)."""
    _members.create(connection)
    yield _members
    _members.drop(connection)


def load_members(
    connection: Connection, table: sa.Table, members: sa.Select[int, int], ctx: SuppressionContext
) -> None:
    """Members, then entries that left the segment but have attempts, each judged once."""
    segment = members.subquery("segment")
    customer_id, rank = segment.c
    judged = sa.select(
        customer_id,
        sa.true(),
        rank,
        dialable_phone(customer_id),
        reason_expression(customer_id, ctx),
    )
    columns = ["customer_id", "in_segment", "rank", "phone", "reason"]
    connection.execute(sa.insert(table).from_select(columns, judged))
    entry = CallListEntry
    outside = sa.select(
        entry.customer_id,
        sa.false(),
        sa.null(),
        dialable_phone(entry.customer_id),
        reason_expression(entry.customer_id, ctx),
    ).where(
        entry.campaign_id == ctx.campaign_id,
        entry.state.in_((EntryState.PENDING, EntryState.SUPPRESSED)),
        entry.attempt_count > 0,
        ~sa.exists().where(table.c.customer_id == entry.customer_id),
    )
    connection.execute(sa.insert(table).from_select(columns, outside))
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {table.name}")


def _instant(at: datetime) -> sa.BindParameter[datetime]:
    """A datetime parameter stored the way the columns store it (UTC, on both engines)."""
    return sa.bindparam(None, at, type_=UTCDateTime())


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


class Transitions(NamedTuple):
    """The counts of `BuildResult` that describe a move, not the list after the build."""

    in_segment: int
    new: int
    kept: int
    kept_outside: int
    revived: int
    unsuppressed: int


def transitions(connection: Connection, table: sa.Table, campaign_id: str) -> Transitions:
    """How the members relate to the list as it stands, counted before anything is written."""
    entry = CallListEntry
    member = table.c.in_segment.is_(True)
    query = sa.select(
        _count(member).label("in_segment"),
        _count(sa.and_(member, entry.id.is_(None))).label("new"),
        _count(sa.and_(member, entry.state != EntryState.RETIRED)).label("kept"),
        _count(~member).label("kept_outside"),
        _count(sa.and_(member, entry.state == EntryState.RETIRED)).label("revived"),
        _count(sa.and_(entry.state == EntryState.SUPPRESSED, table.c.reason.is_(None))).label(
            "unsuppressed"
        ),
    ).select_from(
        table.outerjoin(
            entry.__table__,
            sa.and_(entry.campaign_id == campaign_id, entry.customer_id == table.c.customer_id),
        )
    )
    return Transitions(*connection.execute(query).one())


def _new_state(table: sa.Table) -> sa.ColumnElement[str]:
    """Pending unless a rule holds the member."""
    return sa.case(
        (table.c.reason.is_(None), EntryState.PENDING.value), else_=EntryState.SUPPRESSED.value
    )


def update_existing(
    connection: Connection, table: sa.Table, campaign_id: str, size: int, due_at: datetime
) -> None:
    """Judge the entries of members again: pending ⇄ suppressed, retired → revived, with the
    current rank and phone. Only rows with a changed value are written."""
    entry = CallListEntry
    revived = entry.state == EntryState.RETIRED
    pending = table.c.reason.is_(None)
    values: dict[str, sa.ColumnElement[Any]] = {
        "state": _new_state(table),
        "suppressed_reason": table.c.reason,
        "priority": sa.case((table.c.in_segment, size - table.c.rank + 1), else_=entry.priority),
        "phone": sa.func.coalesce(table.c.phone, entry.phone),
        "next_attempt_at": sa.case(
            (sa.and_(pending, revived), _instant(due_at)),
            (pending, sa.func.coalesce(entry.next_attempt_at, _instant(due_at))),
            else_=entry.next_attempt_at,
        ),
        "closed_reason": sa.null(),
        "closed_at": sa.null(),
    }
    changed = sa.or_(
        *(getattr(entry, name).is_distinct_from(value) for name, value in values.items())
    )
    movable = sa.or_(
        entry.state.in_((EntryState.PENDING, EntryState.SUPPRESSED)),
        sa.and_(revived, table.c.in_segment.is_(True)),
    )
    statement = (
        sa.update(entry)
        .where(
            entry.campaign_id == campaign_id,
            entry.customer_id == table.c.customer_id,
            movable,
            changed,
        )
        .values(values)
    )
    connection.execute(statement)


def insert_new(
    connection: Connection, table: sa.Table, campaign_id: str, size: int, due_at: datetime
) -> None:
    """Add the members without an entry: pending and due at `due_at`, or suppressed with their
    reason (and no due time until the rule lifts)."""
    entry = CallListEntry
    fresh = sa.select(
        sa.literal(campaign_id),
        table.c.customer_id,
        _new_state(table),
        size - table.c.rank + 1,
        sa.literal(0),
        sa.case((table.c.reason.is_(None), _instant(due_at)), else_=sa.null()),
        table.c.phone,
        table.c.reason,
    ).where(
        table.c.in_segment.is_(True),
        ~sa.exists().where(
            entry.campaign_id == campaign_id, entry.customer_id == table.c.customer_id
        ),
    )
    columns = [
        "campaign_id",
        "customer_id",
        "state",
        "priority",
        "attempt_count",
        "next_attempt_at",
        "phone",
        "suppressed_reason",
    ]
    connection.execute(sa.insert(entry).from_select(columns, fresh))


def retire(connection: Connection, table: sa.Table, campaign_id: str, now: datetime) -> int:
    """Retire entries whose customer left the segment before being dialled."""
    entry = CallListEntry
    member = sa.exists().where(
        table.c.customer_id == entry.customer_id, table.c.in_segment.is_(True)
    )
    statement = (
        sa.update(entry)
        .where(
            entry.campaign_id == campaign_id,
            entry.state.in_((EntryState.PENDING, EntryState.SUPPRESSED)),
            entry.attempt_count == 0,
            ~member,
        )
        .values(
            state=EntryState.RETIRED,
            suppressed_reason=None,
            closed_reason=LEFT_SEGMENT,
            closed_at=now,
        )
    )
    return connection.execute(statement).rowcount


def list_totals(
    connection: Connection, campaign_id: str
) -> tuple[int, dict[SuppressionReason, int]]:
    """Pending entries, and suppressed ones per reason, once the build is written."""
    entry = CallListEntry
    query = (
        sa.select(entry.state, entry.suppressed_reason, sa.func.count())
        .where(
            entry.campaign_id == campaign_id,
            entry.state.in_((EntryState.PENDING, EntryState.SUPPRESSED)),
        )
        .group_by(entry.state, entry.suppressed_reason)
    )
    suppressed = dict.fromkeys(PRECEDENCE, 0)
    pending = 0
    for state, reason, count in connection.execute(query):
        if state is EntryState.PENDING:
            pending += count
        else:
            suppressed[SuppressionReason(reason or "")] += count
    return pending, suppressed
