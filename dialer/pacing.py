"""Pacing: how many calls may start, and when, for every worker at once (DESIGN.md, invariant 4).

The limits live in the database, not in a worker's memory, so they hold with any number of
workers:

- Calls per second: each scope (`account`, `campaign:<id>`) keeps a schedule of slots
  (`PacingScope.next_slot_at`). A call takes the first instant free in both its campaign's and
  the account's schedule, and moves both on by their own interval (1/cps and
  `SPACING_MARGIN`), so the lower rate wins. Only slots within `horizon` of now are handed out;
  the dispatcher releases each call at its slot, and a call that misses its slot takes a fresh
  one (`reslot`) rather than go out bunched with the next. Unused time is never saved up: a
  quiet minute does not buy a burst.
- Provider refusals (rate limit, outage): `pause_account` moves the account's next slot to the
  end of a backoff, which stops every worker at once.
- Concurrent calls: counted from the attempts still in flight (`live_attempts`) that began within
  `LIVE_HORIZON`; older ones are reconciliation's business, not a reason to stop dialling.
- Hold queue (ivr-then-agent): no new call while the next caller would wait too long for an
  operator (`dialer.hold_queue`, which counts the callers with `waiting_in_queue`'s rule).

Scope rows are locked account first, then campaigns in key order, by every transaction that
takes slots, so two workers can never deadlock on them. On SQLite the transaction's write lock
already serialises workers. Nothing here reads a clock: `now` is always an argument.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dialer.campaigns import Campaign, Config
from dialer.models import ACCOUNT_SCOPE, Attempt, CallStatus, KeyPress, PacingScope, campaign_scope
from dialer.models.pacing import live_attempt_condition
from dialer.wallclock import require_aware

#: Attempts older than this no longer count as calls in flight (a call cannot last this long;
#: a row this old without a final status is stuck, and reconciliation settles it).
LIVE_HORIZON: Final = timedelta(hours=2)
#: Slots are this much further apart than 1/cps. A call released a little late and the next
#: one on time could otherwise put cps + 1 calls in one second; with the margin, any second
#: holds at most cps calls as long as release times wobble by less than this many seconds
#: (0.02: 20 ms), at 98 % of the nominal rate.
SPACING_MARGIN: Final = 0.02
#: The key press action that sends the caller to the hold queue.
AGENT_ACTION: Final = "agent"
#: QueueResults of a caller who was put through to an operator.
BRIDGED_RESULTS: Final = ("bridged", "bridging-in-process", "redirected-from-bridged")

_LIVE: Final = live_attempt_condition("attempts.")
#: Far enough that a schedule is never booked beyond it: slots are only ever handed out a
#: dispatch horizon (a second or so) ahead.
RESLOT_HORIZON: Final = timedelta(hours=1)

BACKOFF_BASE: Final = timedelta(seconds=1)
BACKOFF_CAP: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Limits:
    """One scope's limits: calls per second and calls in flight."""

    cps: float
    max_concurrent: int

    @property
    def interval(self) -> timedelta:
        """The time between two slots: 1/cps, and `SPACING_MARGIN` more."""
        return timedelta(seconds=(1 + SPACING_MARGIN) / self.cps)


def account_limits(config: Config) -> Limits:
    """The Twilio account's limits, shared by every campaign."""
    return Limits(config.policy.account_cps, config.policy.max_concurrent_calls)


def campaign_limits(campaign: Campaign) -> Limits:
    """The campaign's own limits; the account's apply on top of them."""
    return Limits(campaign.pacing.cps, campaign.pacing.max_concurrent)


@dataclass
class _Schedule:
    """A scope's slot schedule while a transaction works on it."""

    next_slot_at: datetime
    limits: Limits


class PermitBook:
    """The slots and line capacity one claim transaction may hand out.

    Built from locked rows (`lock_permits`) it is exact and `save` writes it back; built from a
    plain read (`estimate_permits`) it only predicts how many entries are worth claiming.
    """

    def __init__(
        self,
        account: _Schedule,
        campaigns: Mapping[str, _Schedule],
        live: Counter[str],
        *,
        now: datetime,
        lead: timedelta,
        deadline: datetime,
    ) -> None:
        self._account = account
        self._campaigns = dict(campaigns)
        self._live = Counter(live)
        self._now = now
        self._lead = lead
        self._deadline = deadline

    def take(self, campaign_id: str) -> datetime | None:
        """The instant this campaign may release its next call, or None for no permit now."""
        campaign = self._campaigns[campaign_id]
        if self._live.total() >= self._account.limits.max_concurrent:
            return None
        if self._live[campaign_id] >= campaign.limits.max_concurrent:
            return None
        # The lead is never longer than the slower rate's interval: a fast campaign does not
        # idle through it at every tick.
        lead = min(self._lead, max(self._account.limits.interval, campaign.limits.interval))
        slot = max(self._now + lead, self._account.next_slot_at, campaign.next_slot_at)
        if slot >= self._deadline:
            return None
        self._account.next_slot_at = slot + self._account.limits.interval
        campaign.next_slot_at = slot + campaign.limits.interval
        self._live[campaign_id] += 1
        return slot

    def available(self, campaign_id: str, *, limit: int) -> int:
        """How many permits `take` would give this campaign now (at most `limit`)."""
        trial = PermitBook(
            replace(self._account),
            {key: replace(schedule) for key, schedule in self._campaigns.items()},
            self._live,
            now=self._now,
            lead=self._lead,
            deadline=self._deadline,
        )
        count = 0
        while count < limit and trial.take(campaign_id) is not None:
            count += 1
        return count

    def save(self, session: Session) -> None:
        """Write the moved schedules back (the rows must be locked by this transaction)."""
        schedules = {ACCOUNT_SCOPE: self._account} | {
            campaign_scope(campaign_id): schedule
            for campaign_id, schedule in self._campaigns.items()
        }
        for key, schedule in schedules.items():
            session.execute(
                sa.update(PacingScope)
                .where(PacingScope.key == key)
                .values(next_slot_at=schedule.next_slot_at)
            )


def lock_permits(
    session: Session,
    config: Config,
    campaign_ids: Sequence[str],
    *,
    now: datetime,
    horizon: timedelta,
    lead: timedelta = timedelta(0),
) -> PermitBook:
    """Lock the account's and these campaigns' scopes (in that order) and count live calls."""
    require_aware(now)
    rows = _scope_rows(session, campaign_ids, now=now, lock=True)
    return _book(config, campaign_ids, rows, live_calls(session, now=now), now, horizon, lead)


def estimate_permits(
    session: Session,
    config: Config,
    campaign_ids: Sequence[str],
    *,
    now: datetime,
    horizon: timedelta,
    lead: timedelta = timedelta(0),
) -> PermitBook:
    """The permits as they stand, read without locks: another worker may take the same slots
    first. It only sizes a claim, so that a worker does not lock entries it has no permit to
    dial; `lock_permits` decides."""
    require_aware(now)
    rows = _scope_rows(session, campaign_ids, now=now, lock=False)
    return _book(config, campaign_ids, rows, live_calls(session, now=now), now, horizon, lead)


def reslot(
    session: Session,
    config: Config,
    campaign_id: str,
    attempt_id: int,
    *,
    now: datetime,
    lead: timedelta = timedelta(0),
) -> datetime:
    """A fresh slot for an attempt that missed its own (it is already counted in flight, so
    only the rates apply): the first instant free in both schedules after `now` plus the lead,
    however far ahead. The attempt's `started_at` moves to it, in the caller's transaction."""
    require_aware(now)
    rows = _scope_rows(session, [campaign_id], now=now, lock=True)
    book = _book(config, [campaign_id], rows, Counter(), now, RESLOT_HORIZON, lead)
    slot = book.take(campaign_id)
    if slot is None:
        raise RuntimeError(f"no slot within {RESLOT_HORIZON} for campaign {campaign_id!r}")
    book.save(session)
    session.execute(sa.update(Attempt).where(Attempt.id == attempt_id).values(started_at=slot))
    return slot


def _book(
    config: Config,
    campaign_ids: Sequence[str],
    rows: Mapping[str, datetime],
    live: Counter[str],
    now: datetime,
    horizon: timedelta,
    lead: timedelta,
) -> PermitBook:
    account = _Schedule(rows.get(ACCOUNT_SCOPE, now), account_limits(config))
    campaigns = {
        campaign_id: _Schedule(
            rows.get(campaign_scope(campaign_id), now),
            campaign_limits(config.campaign(campaign_id)),
        )
        for campaign_id in campaign_ids
    }
    return PermitBook(account, campaigns, live, now=now, lead=lead, deadline=now + horizon)


def _scope_rows(
    session: Session, campaign_ids: Iterable[str], *, now: datetime, lock: bool
) -> dict[str, datetime]:
    """next_slot_at by scope key; with `lock`, missing rows are created and all are locked."""
    campaign_keys = sorted(campaign_scope(campaign_id) for campaign_id in campaign_ids)
    keys = [ACCOUNT_SCOPE, *campaign_keys]
    if not lock:
        query = sa.select(PacingScope.key, PacingScope.next_slot_at).where(
            PacingScope.key.in_(keys)
        )
        return {key: next_slot for key, next_slot in session.execute(query)}
    _create_missing(session, keys, now=now)
    rows = {}
    # Two statements, so that the account row is locked before any campaign row.
    for group in ([ACCOUNT_SCOPE], campaign_keys):
        if not group:
            continue
        query = (
            sa.select(PacingScope.key, PacingScope.next_slot_at)
            .where(PacingScope.key.in_(group))
            .order_by(PacingScope.key)
            .with_for_update()
        )
        rows.update({key: next_slot for key, next_slot in session.execute(query)})
    return rows


def _create_missing(session: Session, keys: Sequence[str], *, now: datetime) -> None:
    existing = set(session.scalars(sa.select(PacingScope.key).where(PacingScope.key.in_(keys))))
    missing = [{"key": key, "next_slot_at": now} for key in keys if key not in existing]
    if not missing:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(PacingScope).values(missing).on_conflict_do_nothing(index_elements=["key"])
    )


def live_attempts(now: datetime) -> sa.ColumnElement[bool]:
    """Attempts that may still hold a line at `now` (through the index `ix_attempts_live`)."""
    return sa.and_(_LIVE, Attempt.started_at > now - LIVE_HORIZON)


def live_calls(session: Session, *, now: datetime) -> Counter[str]:
    """Calls in flight per campaign (their sum is the account's)."""
    query = (
        sa.select(Attempt.campaign_id, sa.func.count())
        .where(live_attempts(now))
        .group_by(Attempt.campaign_id)
    )
    return Counter({campaign_id: count for campaign_id, count in session.execute(query)})


def asked_for_operator() -> sa.ColumnElement[bool]:
    """The attempt's caller pressed the agent key (a `KeyPress` with action `agent`)."""
    return sa.exists().where(KeyPress.attempt_id == Attempt.id, KeyPress.action == AGENT_ACTION)


def on_hold() -> sa.ColumnElement[bool]:
    """The attempt's caller waits in the hold queue: from pressing the agent key until the queue
    reports how their wait ended (`Attempt.queue_result`), while the call lasts. Add
    `live_attempts` for the calls that still hold a line."""
    return sa.and_(
        Attempt.status == CallStatus.IN_PROGRESS,
        Attempt.queue_result.is_(None),
        asked_for_operator(),
    )


def waiting_in_queue(session: Session, campaign_id: str, *, now: datetime) -> int:
    """Customers of this campaign waiting in its hold queue now (`on_hold`)."""
    query = sa.select(sa.func.count()).where(
        Attempt.campaign_id == campaign_id, live_attempts(now), on_hold()
    )
    return session.scalar(query) or 0


def backoff(failures: int, *, retry_after: float | None, rng: random.Random) -> timedelta:
    """The pause after the `failures`-th refusal in a row: doubling from one second up to five
    minutes, with jitter (half to all of it) so that workers do not come back in step, and never
    shorter than the provider's own `Retry-After`."""
    ceiling: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0))
    delay = ceiling * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def pause_account(
    session: Session, *, now: datetime, retry_after: float | None, rng: random.Random
) -> datetime:
    """Stop every worker's dialling after a provider refusal; returns when it may resume.

    Counts the refusal, and moves the account's next slot to the end of the backoff, so the
    pause holds across workers without any of them keeping state.
    """
    require_aware(now)
    _create_missing(session, [ACCOUNT_SCOPE], now=now)
    scope = session.scalars(
        sa.select(PacingScope).where(PacingScope.key == ACCOUNT_SCOPE).with_for_update()
    ).one()
    scope.failures += 1
    until = now + backoff(scope.failures, retry_after=retry_after, rng=rng)
    scope.next_slot_at = max(scope.next_slot_at, until)
    return scope.next_slot_at


def note_accepted(session: Session) -> None:
    """The provider accepted a call: the next refusal starts the backoff from the beginning."""
    session.execute(
        sa.update(PacingScope)
        .where(PacingScope.key == ACCOUNT_SCOPE, PacingScope.failures > 0)
        .values(failures=0)
    )
