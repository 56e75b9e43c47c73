"""Supervisors' switches on running campaigns: pause and resume, kept in the database.

The switch lives in the database rather than in campaigns.yaml so that it takes effect on
every worker at their next dispatch tick, with no file edit or restart, and so that the
dashboard can say who paused a campaign and when. No row means never paused.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dialer.models.base import Base
from dialer.models.types import UTCDateTime


class CampaignControl(Base):
    """The pause switch of one campaign and the last change made to it."""

    __tablename__ = "campaign_controls"

    campaign_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    paused: Mapped[bool]
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The dashboard user who flipped the switch.
    changed_by: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
