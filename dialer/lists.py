"""Call lists: each campaign's segment, minus the suppressed, kept as entries for the dispatcher.

A build is incremental and idempotent. It inserts new members as pending (or suppressed, with
the reason), keeps existing entries (attempts, outcomes and `done` are never reset), parks
suppressed ones and returns them to pending when the rule lifts, retires entries that left the
segment before they were ever dialled, and revives retired ones who come back. In-progress and
done entries are never touched.

Decisions:
- Set-based: the segment is evaluated once, into a temporary table of members with their rank,
  dialable phone and suppression reason; every write is one statement joined to it (the SQL is
  in `dialer.lists_sql`). The cost is one segment evaluation plus index probes, and Python holds
  counts, never customers.
- One transaction per campaign, and `build_all` builds in priority order (higher first), so
  that `higher_priority` sees the lists of the campaigns that outrank the one being built.
- Entry priority is rank-based: of N members the first gets N and the last 1 (higher first,
  like campaign priorities), so the segment's `order_by` is the calling order.
- A new entry is due at the campaign's next callable instant at build time: one calendar
  computation per build, and the list says when an entry can really be dialled. The dispatcher
  still re-checks every rule at the moment of dialling (DESIGN.md, invariant 1).
- A row is only written when one of its values changes, so a rebuild over unchanged data leaves
  every row as it was, `updated_at` included.
- A disabled campaign, or one past its last day, builds nothing and says so.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dialer.calendar import next_callable
from dialer.campaigns import Campaign, Config, calling_rules
from dialer.db import advisory_key
from dialer.lists_sql import (
    LEFT_SEGMENT,
    insert_new,
    list_totals,
    load_members,
    member_table,
    retire,
    transitions,
    update_existing,
)
from dialer.segment_sql import segment_query
from dialer.suppression import PRECEDENCE, SuppressionReason, suppression_context
from dialer.wallclock import require_aware

__all__ = [
    "LEFT_SEGMENT",
    "BuildResult",
    "MemberSource",
    "Skipped",
    "build_all",
    "build_list",
    "build_order",
    "list_totals",
    "refresh_list",
    "segment_members",
    "skip_reason",
]

MemberSource = Callable[[Config, Campaign, datetime], sa.Select[int, int]]
"""A campaign's members at an instant: a select of (customer_id, rank), rank 1 called first."""


class Skipped(StrEnum):
    """Why a campaign's list was not built."""

    DISABLED = "disabled"
    ENDED = "ended"


@dataclass(frozen=True)
class BuildResult:
    """What one build did, for the CLI, the scheduler's log and `dialer plan`.

    `kept` counts members already on the list (in any state but retired); `kept_outside`
    entries that left the segment but stay because they have attempts. `suppressed` and
    `pending` describe the whole list after the build; `suppressed` has every reason, in
    precedence order.
    """

    campaign_id: str
    skipped: Skipped | None = None
    in_segment: int = 0
    new: int = 0
    kept: int = 0
    kept_outside: int = 0
    revived: int = 0
    retired: int = 0
    unsuppressed: int = 0
    suppressed: Mapping[SuppressionReason, int] = field(
        default_factory=lambda: dict.fromkeys(PRECEDENCE, 0)
    )
    pending: int = 0
    due_at: datetime | None = None

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


def build_order(config: Config) -> list[Campaign]:
    """Campaigns in the order lists are built: higher priority first, then as configured (of
    two equal campaigns, the first in the file builds first, so its entries are the older ones
    and it keeps the customers they share)."""
    return sorted(config.campaigns, key=lambda campaign: -campaign.priority)


def build_all(
    db: Session | Engine,
    config: Config,
    *,
    now: datetime,
    members: MemberSource | None = None,
) -> list[BuildResult]:
    """Build every campaign's list, higher priority first, one transaction each."""
    return [
        build_list(db, config, campaign.id, now=now, members=members)
        for campaign in build_order(config)
    ]


def build_list(
    db: Session | Engine,
    config: Config,
    campaign_id: str,
    *,
    now: datetime,
    members: MemberSource | None = None,
) -> BuildResult:
    """Refresh one campaign's list in its own transaction (committed when it returns).

    A session must not already be in a transaction. `members` replaces the campaign's segment
    (benchmarks and tests); raises `UnknownCampaignError` for an unknown id.
    """
    require_aware(now)
    campaign = config.campaign(campaign_id)
    with _transaction(db) as connection:
        return refresh_list(connection, config, campaign, now=now, members=members)


@contextmanager
def _transaction(db: Session | Engine) -> Iterator[Connection]:
    if isinstance(db, Engine):
        with db.begin() as connection:
            yield connection
        return
    with db.begin():
        yield db.connection()


def refresh_list(
    connection: Connection,
    config: Config,
    campaign: Campaign,
    *,
    now: datetime,
    members: MemberSource | None = None,
) -> BuildResult:
    """The build itself, inside the caller's transaction (`dialer plan` rolls it back)."""
    skipped = skip_reason(config, campaign, now)
    if skipped is not None:
        return BuildResult(campaign.id, skipped=skipped)
    source = members or segment_members
    _serialize(connection, campaign.id)
    ctx = suppression_context(config, campaign.id, now=now)
    due_at = next_callable(calling_rules(config, campaign.id), now) or now
    with member_table(connection) as table:
        load_members(connection, table, source(config, campaign, now), ctx)
        moves = transitions(connection, table, campaign.id)
        update_existing(connection, table, campaign.id, moves.in_segment, due_at)
        insert_new(connection, table, campaign.id, moves.in_segment, due_at)
        retired = retire(connection, table, campaign.id, now)
    pending, suppressed = list_totals(connection, campaign.id)
    return BuildResult(
        campaign_id=campaign.id,
        in_segment=moves.in_segment,
        new=moves.new,
        kept=moves.kept,
        kept_outside=moves.kept_outside,
        revived=moves.revived,
        retired=retired,
        unsuppressed=moves.unsuppressed,
        suppressed=suppressed,
        pending=pending,
        due_at=due_at,
    )


def _serialize(connection: Connection, campaign_id: str) -> None:
    """Make two builds of the same campaign (the scheduler's and a CLI's) wait for each other
    on PostgreSQL, instead of both inserting the same new members; SQLite's transactions
    already take the write lock up front."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"call_list_build:{campaign_id}".encode())
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(*advisory_key(key))))


def skip_reason(config: Config, campaign: Campaign, now: datetime) -> Skipped | None:
    """Why no list is built for `campaign` at `now`: disabled, or past its last day.

    A campaign before its first day is built (its entries wait for the first open instant),
    so that `dialer plan` can show it ahead of time.
    """
    if not campaign.enabled:
        return Skipped.DISABLED
    today = now.astimezone(config.timezone_of(campaign)).date()
    if campaign.dates is not None and today > campaign.dates.last:
        return Skipped.ENDED
    return None


def segment_members(config: Config, campaign: Campaign, now: datetime) -> sa.Select[int, int]:
    """The campaign's segment as (customer_id, rank); the final sort is dropped, since the
    rank already carries the order and the rows only feed an INSERT."""
    query = segment_query(
        campaign.segment, rfm=config.rfm, as_of=now, timezone=config.timezone_of(campaign)
    )
    return query.order_by(None)
