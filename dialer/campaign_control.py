"""Pause and resume a campaign from the dashboard; the dispatcher asks before dialling.

A paused campaign places no new call (calls in progress go on to their end), on every worker,
from its next dispatch tick. Its entries stay as they are: due entries simply wait. The switch
is a row in `campaign_controls` holding who changed it last, when, and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dialer.log import log_event
from dialer.models import CampaignControl
from dialer.wallclock import require_aware

__all__ = [
    "PauseState",
    "is_paused",
    "pause",
    "pause_states",
    "paused_campaign_ids",
    "resume",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PauseState:
    """The last change of one campaign's switch."""

    campaign_id: str
    paused: bool
    changed_at: datetime
    changed_by: str
    reason: str | None


def is_paused(session: Session, campaign_id: str) -> bool:
    """Whether a supervisor has paused the campaign."""
    query = sa.select(CampaignControl.paused).where(CampaignControl.campaign_id == campaign_id)
    return bool(session.scalar(query))


def paused_campaign_ids(session: Session) -> frozenset[str]:
    """Every paused campaign, in one query (the dispatcher's per-tick check)."""
    query = sa.select(CampaignControl.campaign_id).where(CampaignControl.paused.is_(True))
    return frozenset(session.scalars(query))


def pause_states(session: Session) -> dict[str, PauseState]:
    """The switch of every campaign that was ever paused, by campaign id."""
    rows = session.scalars(sa.select(CampaignControl))
    return {
        row.campaign_id: PauseState(
            row.campaign_id, row.paused, row.changed_at, row.changed_by, row.reason
        )
        for row in rows
    }


def pause(
    session: Session, campaign_id: str, *, by: str, now: datetime, reason: str | None = None
) -> None:
    """Pause the campaign, in the caller's transaction; pausing a paused one records the
    newer change."""
    _set(session, campaign_id, paused=True, by=by, now=now, reason=reason)


def resume(
    session: Session, campaign_id: str, *, by: str, now: datetime, reason: str | None = None
) -> None:
    """Let the campaign dial again, in the caller's transaction."""
    _set(session, campaign_id, paused=False, by=by, now=now, reason=reason)


def _set(
    session: Session,
    campaign_id: str,
    *,
    paused: bool,
    by: str,
    now: datetime,
    reason: str | None,
) -> None:
    require_aware(now)
    values = {
        "campaign_id": campaign_id,
        "paused": paused,
        "changed_at": now,
        "changed_by": by,
        "reason": (reason or "").strip() or None,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CampaignControl).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[CampaignControl.campaign_id],
            set_={key: statement.excluded[key] for key in values if key != "campaign_id"},
        )
    )
    event = "campaign_paused" if paused else "campaign_resumed"
    log_event(logger, event, campaign=campaign_id, by=by, reason=values["reason"])
