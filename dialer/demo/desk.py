"""The demo's simulated operators at their desks: after each call they talked on, a disposition.

The sandbox plays the operators' side of the phone; what an operator types after the call is
played here, through the same `record_disposition` the operator screen uses, so that the demo's
成約率 and retention figures come from dispositions exactly as a real floor's do. The draws are
seeded; the shares sketch a repeat-purchase shop's floor and are a simulation, not a benchmark:

- a retention campaign (its script lists cancel reasons): kept with an offer about half the
  time (skip a delivery, a longer cycle, a smaller size, a pause), the cancellation accepted
  as asked otherwise (特定商取引法 第13条の2), now and then a callback;
- a solicitation: a sale one call in five, a refusal (→ 発信禁止) now and then, callbacks;
- a service call: reached.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Campaign, Config
from dialer.clock import Clock
from dialer.dispositions import Disposition, DispositionError, record_disposition
from dialer.models import Attempt, CallStatus
from dialer.read_only import read_only

logger = logging.getLogger(__name__)

D = Disposition
RETENTION: Mapping[Disposition, float] = {
    D.RETAINED_SKIP: 0.14,
    D.RETAINED_LONGER_CYCLE: 0.16,
    D.RETAINED_SMALLER_SIZE: 0.10,
    D.RETAINED_PAUSE: 0.10,
    D.CANCELLED_AS_REQUESTED: 0.42,
    D.CALLBACK: 0.08,
}
SOLICITATION: Mapping[Disposition, float] = {
    D.CONVERTED: 0.20,
    D.REACHED: 0.58,
    D.CALLBACK: 0.10,
    D.REFUSED: 0.08,
    D.WRONG_PERSON: 0.04,
}
SERVICE: Mapping[Disposition, float] = {D.REACHED: 0.92, D.CALLBACK: 0.08}
#: When a customer asks to be called back: the next day, at the first open time from then.
CALLBACK_AFTER = timedelta(days=1)
#: Who recorded a disposition when the call has no operator on record.
DESK = "demo-desk"


class Desk:
    """Records a disposition for every call an operator finished, once."""

    def __init__(self, config: Config, clock: Clock, seed: int) -> None:
        self.config = config
        self.clock = clock
        self.seed = seed

    def settle(self, session: Session) -> int:
        """Disposition every ended call that reached an operator and has none; how many."""
        done = 0
        with read_only(session):  # on SQLite an open transaction holds the write lock
            finished = session.execute(_undispositioned()).all()
        for attempt_id, campaign_id, operator_id in finished:
            if self._record(session, attempt_id, campaign_id, operator_id or DESK):
                done += 1
        return done

    def _record(self, session: Session, attempt_id: int, campaign_id: str, by: str) -> bool:
        campaign = self._campaign(campaign_id)
        if campaign is None:
            return False
        now = self.clock()
        choice = _draw(random.Random(f"{self.seed}:{attempt_id}"), shares_for(campaign))
        callback_at = now + CALLBACK_AFTER if choice is Disposition.CALLBACK else None
        try:
            record_disposition(
                session,
                self.config,
                attempt_id,
                choice,
                by=by,
                now=now,
                callback_at=callback_at,
                note="デモの模擬オペレーターによる入力",
            )
            session.commit()
        except DispositionError as error:
            session.rollback()
            logger.info("demo desk: attempt %s not dispositioned: %s", attempt_id, error)
            return False
        return True

    def _campaign(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.config.campaigns if c.id == campaign_id), None)


def shares_for(campaign: Campaign) -> Mapping[Disposition, float]:
    """Retention when the script lists cancel reasons, else by the campaign's kind."""
    if campaign.script is not None and campaign.script.reasons:
        return RETENTION
    return SOLICITATION if campaign.kind == "solicitation" else SERVICE


def _draw(rng: random.Random, shares: Mapping[Disposition, float]) -> Disposition:
    choices = list(shares)
    return rng.choices(choices, weights=[shares[c] for c in choices])[0]


def _undispositioned() -> sa.Select[int, str, str | None]:
    return (
        sa.select(Attempt.id, Attempt.campaign_id, Attempt.operator_id)
        .where(
            Attempt.queue_result == "bridged",
            Attempt.disposition.is_(None),
            Attempt.status == CallStatus.COMPLETED,
        )
        .order_by(Attempt.id)
    )
