"""What the demo shows while it runs, and how it knows the afternoon's work is done.

The figures are the dashboard's own (`dialer.kpis.overview`), read from the database the app and
the worker write, so the progress line and the dashboard never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.calendar import is_callable
from dialer.campaigns import Config, calling_rules
from dialer.kpis import Overview, overview
from dialer.models import CallListEntry, EntryState
from dialer.read_only import read_only


@dataclass(frozen=True)
class Snapshot:
    """The overview at `now`, and how many entries are due now in a campaign that is open."""

    now: datetime
    overview: Overview
    due_now: int

    @property
    def idle(self) -> bool:
        """Nothing on the line and nothing the dispatcher could dial now."""
        return self.overview.today.live == 0 and self.due_now == 0


def snapshot(session: Session, config: Config, now: datetime) -> Snapshot:
    """Read the figures at `now` (one read-only transaction)."""
    figures = overview(session, config, now=now)
    open_now = [
        campaign.id
        for campaign in config.campaigns
        if is_callable(calling_rules(config, campaign.id), now)
    ]
    with read_only(session):
        due = session.scalar(
            sa.select(sa.func.count())
            .select_from(CallListEntry)
            .where(
                CallListEntry.state == EntryState.PENDING,
                CallListEntry.campaign_id.in_(open_now),
                sa.or_(
                    CallListEntry.next_attempt_at.is_(None),
                    CallListEntry.next_attempt_at <= now,
                ),
            )
        )
    return Snapshot(now=now, overview=figures, due_now=int(due or 0))


def progress_line(snap: Snapshot, zone: ZoneInfo) -> str:
    """One line: the simulated time, calls placed and on the line, answers, the queue, outcomes."""
    today = snap.overview.today
    clock = snap.now.astimezone(zone).strftime("%H:%M")
    return (
        f"{clock}  発信 {today.dialled:,}  通話中 {today.live}  "
        f"応答 {today.human:,} ({_percent(today.contact_rate)})  待ち呼 {today.in_queue}  "
        f"放棄 {today.abandoned:,}  配信停止 {today.opt_outs:,}  "
        f"残り {snap.overview.lists.remaining:,}"
    )


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"
