"""The hold queue's brake on dialling in `ivr-then-agent` mode: how long the next caller would wait.

A campaign whose callers ask for an operator must not dial faster than its operators can take
them: a caller kept on hold too long hangs up (放棄呼), the figure supervisors watch most after
the contact rate. Before each tick the dispatcher asks, per campaign, how long a caller placed
now would wait in the queue if they asked for an operator, and dials only while that expected
wait stays within `WAIT_SHARE` of the campaign's `max_queue_wait` (the rest is headroom for the
spread of talk times).

The estimate, over the operators who serve the campaign (its pool):

- Callers ahead: those waiting in the queues this pool serves now, plus the calls of those
  campaigns still on their way there (ringing or in the IVR), each weighted by the share of
  its campaign's recently ended calls that reached the queue.
- The pool's free operators (no live operator call, `dialer.operator_availability`) take the
  first callers at once. Every caller beyond them waits for a busy operator to finish: with
  `n` operators each freeing up once per handle time, the k-th waits about k × handle / n.
- Handle time: the recent bridged calls' time with the operator (the call's length less the
  wait); the share and the handle time lean on defaults (`DEFAULT_REACH`, `DEFAULT_HANDLE`)
  while a campaign has made few calls, so that the first calls of the day are paced too.

Campaigns that share operators count each other's callers: an operator free now is expected by
every queue they serve, and the estimate errs on the side of a short wait.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Campaign, Config
from dialer.models import Attempt
from dialer.operator_availability import unavailable_operators
from dialer.outcome_codes import Outcome
from dialer.pacing import BRIDGED_RESULTS, asked_for_operator, live_attempts, on_hold

#: The share of `max_queue_wait` the expected wait may reach while the campaign dials.
WAIT_SHARE: Final = 0.5
#: How far back the reach share and the handle time are measured.
LOOKBACK: Final = timedelta(hours=2)
#: The share of placed calls that reach the queue, before a campaign has its own, and its
#: weight in calls: a campaign's own share takes over as its calls accumulate.
DEFAULT_REACH: Final = 0.3
REACH_PRIOR_CALLS: Final = 10
#: Seconds an operator spends per caller, before a campaign has its own, and its weight.
DEFAULT_HANDLE: Final = 180.0
HANDLE_PRIOR_CALLS: Final = 3


def expected_wait(*, ahead: float, free: int, serving: int, handle_seconds: float) -> float:
    """Seconds a caller joining behind `ahead` expected callers would wait, with `free` of the
    `serving` operators free now and each busy one freeing up after `handle_seconds`."""
    beyond_free = ahead + 1 - free
    if beyond_free <= 0:
        return 0.0
    if serving == 0:
        return math.inf
    return beyond_free * handle_seconds / serving


@dataclass(frozen=True)
class Traffic:
    """One campaign's queue traffic at an instant."""

    waiting: int = 0
    #: Live calls that have not asked for an operator (yet).
    on_the_way: int = 0
    #: The share of its recent ended calls that reached the queue, defaults blended in.
    reach: float = DEFAULT_REACH
    #: Operator seconds per caller, defaults blended in.
    handle_seconds: float = DEFAULT_HANDLE

    @property
    def expected_callers(self) -> float:
        return self.waiting + self.reach * self.on_the_way


@dataclass(frozen=True)
class QueueOutlook:
    """The hold queues at one instant, as the dispatcher weighs them."""

    traffic: Mapping[str, Traffic]
    unavailable: frozenset[str]

    def expected_wait(self, config: Config, campaign: Campaign) -> float | None:
        """Seconds the next caller of `campaign` would wait; None when it has no queue."""
        if campaign.pacing.mode != "ivr-then-agent":
            return None
        pool = {operator.id for operator in config.operators_for(campaign.id)}
        sharing = [
            other.id
            for other in config.campaigns
            if other.pacing.mode == "ivr-then-agent"
            and pool & {operator.id for operator in config.operators_for(other.id)}
        ]
        ahead = sum(self._traffic(other).expected_callers for other in sharing)
        return expected_wait(
            ahead=ahead,
            free=len(pool - self.unavailable),
            serving=len(pool),
            handle_seconds=self._traffic(campaign.id).handle_seconds,
        )

    def is_full(self, config: Config, campaign: Campaign) -> bool:
        """Whether `campaign` must wait for its queue to shorten before dialling again."""
        wait = self.expected_wait(config, campaign)
        limit = campaign.pacing.max_queue_wait.total_seconds() * WAIT_SHARE
        return wait is not None and wait > limit

    def _traffic(self, campaign_id: str) -> Traffic:
        return self.traffic.get(campaign_id, Traffic())


def read_outlook(session: Session, config: Config, *, now: datetime) -> QueueOutlook:
    """The hold queues of `config`'s ivr-then-agent campaigns at `now` (three queries)."""
    campaign_ids = [c.id for c in config.campaigns if c.pacing.mode == "ivr-then-agent"]
    if not campaign_ids:
        return QueueOutlook({}, frozenset())
    live = _live_traffic(session, campaign_ids, now)
    recent = _recent_traffic(session, campaign_ids, now)
    traffic = {
        campaign_id: Traffic(
            *live.get(campaign_id, (0, 0)),
            *recent.get(campaign_id, (DEFAULT_REACH, DEFAULT_HANDLE)),
        )
        for campaign_id in campaign_ids
    }
    return QueueOutlook(traffic, frozenset(unavailable_operators(session, now)))


def _live_traffic(
    session: Session, campaign_ids: list[str], now: datetime
) -> dict[str, tuple[int, int]]:
    """Per campaign: callers waiting in its queue, and live calls that have not asked for an
    operator."""
    query = (
        sa.select(
            Attempt.campaign_id,
            sa.func.count().filter(on_hold()),
            sa.func.count().filter(~asked_for_operator()),
        )
        .where(Attempt.campaign_id.in_(campaign_ids), live_attempts(now))
        .group_by(Attempt.campaign_id)
    )
    return {campaign_id: (w, o) for campaign_id, w, o in session.execute(query)}


def _recent_traffic(
    session: Session, campaign_ids: list[str], now: datetime
) -> dict[str, tuple[float, float]]:
    """Per campaign, over `LOOKBACK`: the share of ended calls that reached the queue and the
    operator seconds per bridged caller, each blended with its default."""
    # Calls that have ended: a live one may still reach the queue.
    ended = sa.and_(Attempt.outcome.is_not(None), Attempt.outcome != Outcome.CANCELED.value)
    bridged = sa.and_(
        Attempt.queue_result.in_(BRIDGED_RESULTS), Attempt.duration_seconds.is_not(None)
    )
    handled = Attempt.duration_seconds - sa.func.coalesce(Attempt.queue_time_seconds, 0)
    query = (
        sa.select(
            Attempt.campaign_id,
            sa.func.count().filter(ended),
            sa.func.count().filter(sa.and_(ended, asked_for_operator())),
            sa.func.count().filter(bridged),
            sa.func.sum(handled).filter(bridged),
        )
        .where(Attempt.campaign_id.in_(campaign_ids), Attempt.started_at > now - LOOKBACK)
        .group_by(Attempt.campaign_id)
    )
    recent: dict[str, tuple[float, float]] = {}
    for campaign_id, calls, reached, talks, talk_seconds in session.execute(query):
        reach = (reached + DEFAULT_REACH * REACH_PRIOR_CALLS) / (calls + REACH_PRIOR_CALLS)
        handle = ((talk_seconds or 0) + DEFAULT_HANDLE * HANDLE_PRIOR_CALLS) / (
            talks + HANDLE_PRIOR_CALLS
        )
        recent[campaign_id] = (min(reach, 1.0), handle)
    return recent
