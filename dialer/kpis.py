"""The overview's figures: one row per campaign, computed set-based in SQL.

Two aggregate queries answer the whole overview, whatever the number of campaigns: list counts
per campaign and state (from `ix_call_list_entries_campaign_id_state`), and today's attempts
per campaign with conditional aggregates (from `ix_attempts_started_at_id`). "Today" is the
campaign's own calendar day, from local midnight to `now`.

Definitions (the vocabularies are those of `dialer.outcome_codes` and `dialer.suppression`):

- dialled: attempts started today, except those released without a call (outcome canceled).
- human-answered: reached a person (`suppression.reached`: AnsweredBy human, outcome human, or
  dispositioned by an operator) or ended in a refusal outcome.
- 接続率 (contact rate): human-answered / dialled.
- 成約率 (conversion rate): attempts an operator dispositioned as a conversion
  (`dispositions.CONVERSIONS`: converted, and every retained_* kind of a kept subscription) /
  human-answered. A cancellation accepted as requested is not one.
- 放棄呼率 (abandonment): hung up while waiting (QueueResult hangup) / entered the hold queue
  (any QueueResult but queue-full and error, which mean the caller never waited).
- average queue wait: mean QueueTime of those who entered the queue.
- 平均処理時間 (AHT): mean duration of the human-answered calls that have one.
- opt-outs: today's attempts that recorded a refusal (opt-out key, refused disposition or a
  refusal outcome).
- in progress: calls in flight now (`pacing.live_attempts`); in queue: those waiting for an
  operator now (the agent key pressed, no QueueResult yet), as the pacer counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from dialer.campaign_control import PauseState, pause_states
from dialer.campaign_state import CampaignState, State, campaign_state, unknown_campaign_state
from dialer.campaigns import Config
from dialer.campaigns.schema import DEFAULT_TIMEZONE
from dialer.dispositions import CONVERSIONS
from dialer.hold_queue import QueueOutlook, read_outlook
from dialer.models import Attempt, CallListEntry, EntryState, KeyPress, UTCDateTime
from dialer.outcome_codes import Outcome
from dialer.pacing import LIVE_HORIZON, live_attempts, on_hold
from dialer.read_only import read_only
from dialer.suppression import (
    OPT_OUT_ACTION,
    REFUSAL_DISPOSITIONS,
    REFUSAL_OUTCOMES,
    reached,
)
from dialer.wallclock import require_aware

__all__ = [
    "ABANDONED_QUEUE_RESULT",
    "CONVERSION_DISPOSITIONS",
    "CampaignRow",
    "ListCounts",
    "Overview",
    "TodayFigures",
    "conversion",
    "human_answered",
    "list_counts",
    "overview",
    "today_figures",
]

#: The stored dispositions that count as 成約, in a stable order for the SQL.
CONVERSION_DISPOSITIONS: Final = tuple(sorted(disposition.value for disposition in CONVERSIONS))
ABANDONED_QUEUE_RESULT: Final = "hangup"
#: QueueResults of callers who never waited in the queue.
NOT_QUEUED_RESULTS: Final = ("queue-full", "error")


@dataclass(frozen=True)
class ListCounts:
    """A campaign's call list by state; `list_size` leaves out retired entries."""

    pending: int = 0
    in_progress: int = 0
    suppressed: int = 0
    done: int = 0

    @property
    def list_size(self) -> int:
        return self.pending + self.in_progress + self.suppressed + self.done

    @property
    def remaining(self) -> int:
        """Still to be called: due now or later, retries included."""
        return self.pending

    def __add__(self, other: ListCounts) -> ListCounts:
        return ListCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class TodayFigures:
    """Today's counts and sums; rates and means are derived, None when undefined (0/0)."""

    dialled: int = 0
    human: int = 0
    conversions: int = 0
    entered_queue: int = 0
    abandoned: int = 0
    queue_wait_total: int = 0
    queue_wait_count: int = 0
    handle_total: int = 0
    handle_count: int = 0
    opt_outs: int = 0
    live: int = 0
    in_queue: int = 0

    @property
    def contact_rate(self) -> float | None:
        return _ratio(self.human, self.dialled)

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.conversions, self.human)

    @property
    def abandon_rate(self) -> float | None:
        return _ratio(self.abandoned, self.entered_queue)

    @property
    def average_queue_wait(self) -> float | None:
        return _ratio(self.queue_wait_total, self.queue_wait_count)

    @property
    def average_handle_time(self) -> float | None:
        return _ratio(self.handle_total, self.handle_count)

    def __add__(self, other: TodayFigures) -> TodayFigures:
        return TodayFigures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class CampaignRow:
    """One campaign on the overview. `name` is None for a campaign the configuration lacks."""

    campaign_id: str
    name: str | None
    priority: int | None
    timezone: ZoneInfo
    state: CampaignState
    pause: PauseState | None
    lists: ListCounts
    today: TodayFigures
    #: Seconds the next caller would wait on hold (`dialer.hold_queue`); None without a queue.
    queue_wait: float | None = None
    #: The dispatcher holds the campaign back until its queue shortens.
    held_back: bool = False


@dataclass(frozen=True)
class Overview:
    """Every campaign at `now`, configured ones first by priority, and their totals."""

    now: datetime
    timezone: ZoneInfo
    rows: tuple[CampaignRow, ...]
    config_ok: bool

    @property
    def lists(self) -> ListCounts:
        return sum((row.lists for row in self.rows), ListCounts())

    @property
    def today(self) -> TodayFigures:
        return sum((row.today for row in self.rows), TodayFigures())


def overview(session: Session, config: Config | None, *, now: datetime) -> Overview:
    """The overview at `now`; `config` None means campaigns.yaml does not validate, and every
    campaign the database knows is shown as a configuration error.

    Read only; the transaction it opens is closed again (on SQLite it holds the write lock).
    """
    require_aware(now)
    with read_only(session):
        return _overview(session, config, now)


def _overview(session: Session, config: Config | None, now: datetime) -> Overview:
    company_zone = ZoneInfo(config.company.timezone if config else DEFAULT_TIMEZONE)
    zones = {c.id: config.timezone_of(c) for c in config.campaigns} if config else {}
    lists = list_counts(session)
    today = today_figures(
        session,
        {campaign_id: _midnight(now, zone) for campaign_id, zone in zones.items()},
        default_start=_midnight(now, company_zone),
        now=now,
    )
    pauses = pause_states(session)
    rows = []
    if config is not None:
        queues = read_outlook(session, config, now=now)
        rows = _configured_rows(config, lists, today, pauses, queues, now)
    for campaign_id in sorted((lists.keys() | today.keys()) - zones.keys()):
        rows.append(
            CampaignRow(
                campaign_id=campaign_id,
                name=None,
                priority=None,
                timezone=company_zone,
                state=unknown_campaign_state(config_error=config is None),
                pause=pauses.get(campaign_id),
                lists=lists.get(campaign_id, ListCounts()),
                today=today.get(campaign_id, TodayFigures()),
            )
        )
    return Overview(now=now, timezone=company_zone, rows=tuple(rows), config_ok=config is not None)


def _configured_rows(
    config: Config,
    lists: Mapping[str, ListCounts],
    today: Mapping[str, TodayFigures],
    pauses: Mapping[str, PauseState],
    queues: QueueOutlook,
    now: datetime,
) -> list[CampaignRow]:
    rows = []
    for campaign in sorted(config.campaigns, key=lambda c: (-c.priority, c.id)):
        pause = pauses.get(campaign.id)
        paused = pause is not None and pause.paused
        state = campaign_state(config, campaign, paused=paused, now=now)
        rows.append(
            CampaignRow(
                campaign_id=campaign.id,
                name=campaign.name,
                priority=campaign.priority,
                timezone=config.timezone_of(campaign),
                state=state,
                pause=pause,
                lists=lists.get(campaign.id, ListCounts()),
                today=today.get(campaign.id, TodayFigures()),
                queue_wait=queues.expected_wait(config, campaign),
                held_back=state.state is State.DIALLING and queues.is_full(config, campaign),
            )
        )
    return rows


def list_counts(session: Session) -> dict[str, ListCounts]:
    """Entries per campaign and state, in one grouped query."""
    query = sa.select(
        CallListEntry.campaign_id, CallListEntry.state, sa.func.count().label("entries")
    ).group_by(CallListEntry.campaign_id, CallListEntry.state)
    found: dict[str, dict[str, int]] = {}
    for campaign_id, state, count in session.execute(query):
        found.setdefault(campaign_id, {})[EntryState(state).value] = count
    return {
        campaign_id: ListCounts(
            pending=states.get(EntryState.PENDING.value, 0),
            in_progress=states.get(EntryState.IN_PROGRESS.value, 0),
            suppressed=states.get(EntryState.SUPPRESSED.value, 0),
            done=states.get(EntryState.DONE.value, 0),
        )
        for campaign_id, states in found.items()
    }


def human_answered() -> sa.ColumnElement[bool]:
    """The attempt reached a person (see the module docstring)."""
    return sa.or_(reached(Attempt), Attempt.outcome.in_(REFUSAL_OUTCOMES))


def conversion() -> sa.ColumnElement[bool]:
    """The operator recorded a sale or a saved subscription."""
    return Attempt.disposition.in_(CONVERSION_DISPOSITIONS)


def today_figures(
    session: Session,
    day_starts: Mapping[str, datetime],
    *,
    default_start: datetime,
    now: datetime,
) -> dict[str, TodayFigures]:
    """Today's figures per campaign in one query; `day_starts` gives each campaign's local
    midnight (`default_start` for the others)."""
    require_aware(now)
    start = _day_start_expression(day_starts, default_start)
    today = Attempt.started_at >= start
    dialled = sa.and_(
        today, sa.or_(Attempt.outcome.is_(None), Attempt.outcome != Outcome.CANCELED.value)
    )
    human = sa.and_(today, human_answered())
    queued = sa.and_(
        today,
        Attempt.queue_result.is_not(None),
        Attempt.queue_result.not_in(NOT_QUEUED_RESULTS),
    )
    handled = sa.and_(human, Attempt.duration_seconds.is_not(None))
    waited = sa.and_(queued, Attempt.queue_time_seconds.is_not(None))
    live = live_attempts(now)
    columns = {
        "dialled": _count(dialled),
        "human": _count(human),
        "conversions": _count(sa.and_(today, conversion())),
        "entered_queue": _count(queued),
        "abandoned": _count(sa.and_(queued, Attempt.queue_result == ABANDONED_QUEUE_RESULT)),
        "queue_wait_total": _sum(Attempt.queue_time_seconds, waited),
        "queue_wait_count": _count(waited),
        "handle_total": _sum(Attempt.duration_seconds, handled),
        "handle_count": _count(handled),
        "opt_outs": _count(sa.and_(today, _refusal())),
        "live": _count(live),
        "in_queue": _count(sa.and_(live, on_hold())),
    }
    earliest = min([default_start, *day_starts.values(), now - LIVE_HORIZON], key=_utc)
    query = (
        sa.select(Attempt.campaign_id, *(value.label(name) for name, value in columns.items()))
        .where(Attempt.started_at >= earliest)
        .group_by(Attempt.campaign_id)
    )
    return {
        row.campaign_id: TodayFigures(**{name: int(row._mapping[name]) for name in columns})
        for row in session.execute(query)
    }


def _day_start_expression(
    day_starts: Mapping[str, datetime], default_start: datetime
) -> sa.ColumnElement[datetime]:
    """Each attempt's campaign's midnight: one constant when every campaign shares the
    default zone (the usual case), else a CASE over the campaigns whose midnight differs."""
    default = sa.literal(default_start, UTCDateTime())
    differing = {
        campaign_id: at for campaign_id, at in day_starts.items() if _utc(at) != _utc(default_start)
    }
    if not differing:
        return default
    whens = {campaign_id: sa.literal(at, UTCDateTime()) for campaign_id, at in differing.items()}
    return sa.case(whens, value=Attempt.campaign_id, else_=default)


def _refusal() -> sa.ColumnElement[bool]:
    pressed = sa.exists().where(
        KeyPress.attempt_id == Attempt.id, KeyPress.action == OPT_OUT_ACTION
    )
    return sa.or_(
        Attempt.disposition.in_(REFUSAL_DISPOSITIONS),
        Attempt.outcome.in_(REFUSAL_OUTCOMES),
        pressed,
    )


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.count().filter(condition)


def _sum(
    column: InstrumentedAttribute[int | None], condition: sa.ColumnElement[bool]
) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(column).filter(condition), 0)


def _midnight(now: datetime, zone: ZoneInfo) -> datetime:
    """Local midnight of `now`'s date in `zone`, as an instant."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
