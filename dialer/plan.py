"""`dialer plan`: who a campaign would call, in which order, and when the calendar allows it.

A dry run. The list builds run exactly as `dialer lists build` would run them (the campaigns
that are built before this one, then this one), inside a savepoint that is always rolled back:
the plan can never disagree with a real build, and nothing is written. On PostgreSQL the
entries touched stay locked until the rollback (the dispatcher's SKIP LOCKED claims pass over
them); on SQLite the plan holds the write lock for its duration, like any build.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dialer.calendar import CallingRules, next_callable
from dialer.campaigns import Campaign, Config, calling_rules
from dialer.lists import BuildResult, build_order, list_totals, refresh_list
from dialer.models import CallListEntry, Customer, EntryState
from dialer.phones import mask
from dialer.suppression import ACTIVE_STATES, SuppressionReason
from dialer.wallclock import require_aware


@dataclass(frozen=True)
class PlannedCall:
    """One entry of the plan; `next_permitted_at` is None while a call is in progress, or when
    the calendar has no open instant left (the campaign ends first)."""

    position: int
    customer_id: int
    external_id: str
    name: str
    phone: str
    priority: int
    attempts: int
    state: EntryState
    last_outcome: str | None
    next_attempt_at: datetime | None
    next_permitted_at: datetime | None


@dataclass(frozen=True)
class Plan:
    """A campaign's list as a build at `now` would leave it; `total` counts every active
    entry, `calls` the first `limit` of them in calling order."""

    campaign: Campaign
    timezone: ZoneInfo
    now: datetime
    build: BuildResult
    total: int
    calls: tuple[PlannedCall, ...]
    pending: int
    suppressed: Mapping[SuppressionReason, int]


def plan(
    session: Session,
    config: Config,
    campaign_id: str,
    *,
    now: datetime,
    limit: int | None = None,
) -> Plan:
    """The dry run of `campaign_id` at `now`; raises `UnknownCampaignError` for an unknown id.

    The session may be in a transaction or not; it is left as it was.
    """
    require_aware(now)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative: {limit}")
    campaign = config.campaign(campaign_id)
    rules = calling_rules(config, campaign.id)
    with _rolled_back(session) as connection:
        build = _simulate(connection, config, campaign, now)
        total, rows = _active_entries(connection, campaign.id, limit)
        pending, suppressed = list_totals(connection, campaign.id)
    return Plan(
        campaign=campaign,
        timezone=config.timezone_of(campaign),
        now=now,
        build=build,
        total=total,
        calls=tuple(_planned(rows, rules, now)),
        pending=pending,
        suppressed=suppressed,
    )


@contextmanager
def _rolled_back(session: Session) -> Iterator[Connection]:
    """A savepoint that is always rolled back; the transaction it opened, if any, too."""
    opened = not session.in_transaction()
    savepoint = session.begin_nested()
    try:
        yield session.connection()
    finally:
        savepoint.rollback()
        if opened:
            session.rollback()


def _simulate(
    connection: Connection, config: Config, target: Campaign, now: datetime
) -> BuildResult:
    """Build every campaign up to `target` in build order, so that `higher_priority` sees the
    lists the campaigns outranking it would have."""
    for campaign in build_order(config):
        result = refresh_list(connection, config, campaign, now=now)
        if campaign.id == target.id:
            return result
    raise AssertionError(f"campaign {target.id} is not in the build order")


_COLUMNS = (
    CallListEntry.customer_id,
    Customer.external_id,
    Customer.name,
    CallListEntry.phone,
    CallListEntry.priority,
    CallListEntry.attempt_count,
    CallListEntry.state,
    CallListEntry.last_outcome,
    CallListEntry.next_attempt_at,
)
EntryRow = sa.Row[int, str, str, str | None, int, int, EntryState, str | None, datetime | None]


def _active_entries(
    connection: Connection, campaign_id: str, limit: int | None
) -> tuple[int, list[EntryRow]]:
    """Active entries in the dispatcher's claim order: entry priority, then due time."""
    active = sa.and_(
        CallListEntry.campaign_id == campaign_id, CallListEntry.state.in_(ACTIVE_STATES)
    )
    total = connection.execute(sa.select(sa.func.count()).where(active)).scalar_one()
    query = (
        sa.select(*_COLUMNS)
        .join(Customer, Customer.id == CallListEntry.customer_id)
        .where(active)
        .order_by(CallListEntry.priority.desc(), CallListEntry.next_attempt_at, CallListEntry.id)
        .limit(limit)
    )
    return total, list(connection.execute(query))


def _planned(rows: list[EntryRow], rules: CallingRules, now: datetime) -> Iterator[PlannedCall]:
    """Entries with their next permitted instant; entries due at the same instant share one
    calendar computation."""
    permitted: dict[datetime, datetime | None] = {}
    for position, row in enumerate(rows, start=1):
        customer_id, external_id, name, phone, priority, attempts, state, outcome, due = row
        waiting = state is EntryState.PENDING
        start = _later(now, due)
        if waiting and start not in permitted:
            permitted[start] = next_callable(rules, start)
        yield PlannedCall(
            position=position,
            customer_id=customer_id,
            external_id=external_id,
            name=name,
            phone=mask(phone) if phone else "",
            priority=priority,
            attempts=attempts,
            state=state,
            last_outcome=outcome,
            next_attempt_at=due,
            next_permitted_at=permitted[start] if waiting else None,
        )


def _later(now: datetime, due: datetime | None) -> datetime:
    """The later of two instants, compared in UTC (see `dialer.calendar.next_callable`)."""
    if due is None or due.astimezone(UTC) <= now.astimezone(UTC):
        return now.astimezone(UTC)
    return due.astimezone(UTC)
