"""Dispatch: claim due entries, judge them again, pace them, and place their calls.

One tick, at one instant `now`:

1. Claim, in one transaction: the due pending entries of the campaigns that may dial now
   (running, calendar open, not paused from the dashboard, hold queue not full), campaign
   priority first, then entry priority,
   then due time, no more than the pacing permits allow (`pacing.estimate_permits`). PostgreSQL
   claims with `FOR UPDATE SKIP LOCKED`, so workers never wait on each other's entries; SQLite's
   `BEGIN IMMEDIATE` serialises them. Each entry is judged by `guard.check_entries`; one that
   passes takes a slot from the locked pacing scopes and gets its attempt row (attempt_number =
   attempt_count + 1, started at its slot, no status yet), and the entry goes in_progress. The
   transaction commits before any call is placed (DESIGN.md, invariant 2).
2. Place, outside any transaction: each call at its slot (a call too late for it takes a fresh
   slot first), with the webhooks naming the attempt (`?attempt=<id>` ties an early callback to
   it before its CallSid is recorded), then record the CallSid and status in a short
   transaction of its own.

What a failed create does, by the class of the provider's error:

- Rate limit or outage (`TransientError`): nothing was placed. The attempt is released (outcome
  canceled: not counted against max_attempts) and the entry is due again when the account-wide
  pause ends: exponential backoff with jitter, never shorter than `Retry-After`, held in the
  account's pacing scope so that every worker stops. The rest of the tick is released the same
  way, untouched by the provider.
- Ambiguous (timeout, dropped connection, 5xx): the call may exist. The provider's calls to the
  number since the attempt began are listed at once and the call, if found, adopted; only when
  there is none is the attempt released and the entry retried later. If even the listing fails,
  the attempt is left for reconciliation and nothing is retried before it.
- Invalid number: the attempt is finished as failed with the error code, which marks the number
  undialable and closes the entry (`outcomes.finish_attempt`).
- Another rejection: released, retried after `rejected_retry`; the error code is on the attempt.
- Authentication: the credentials are wrong, every call would fail. The tick stops, the account
  pauses, the event is logged at CRITICAL.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dialer.calendar import is_callable
from dialer.campaign_control import paused_campaign_ids
from dialer.campaigns import Campaign, Config
from dialer.clock import Clock, system_clock
from dialer.errors import DialerError
from dialer.guard import Action, CalendarCache, Verdict, calendar_verdict, check_entries
from dialer.hold_queue import QueueOutlook, read_outlook
from dialer.log import log_event
from dialer.models import Attempt, CallListEntry, EntryState
from dialer.outcome_codes import Outcome
from dialer.outcomes import finish_attempt
from dialer.pacing import (
    account_limits,
    campaign_limits,
    estimate_permits,
    lock_permits,
    note_accepted,
    pause_account,
    reslot,
)
from dialer.reconcile import (
    AttemptRef,
    apply_call,
    find_call,
    is_given_up,
    locked_attempt,
    record_created_call,
    release,
)
from dialer.settings import Settings
from dialer.suppression import is_running
from dialer.telephony import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CallInfo,
    CallRequest,
    InvalidNumberError,
    RejectedError,
    TelephonyError,
    TelephonyProvider,
    TransientError,
)
from dialer.wallclock import require_aware

logger = logging.getLogger(__name__)

#: How many times one call may be given a fresh slot for being late before it goes anyway.
RESLOT_LIMIT = 3

Waiter = Callable[[datetime, datetime], timedelta]
"""Waits until a slot (`wait_until(slot, now)`); returns how late it is by then, zero or more."""


class DispatchConfigError(DialerError):
    """The settings do not allow placing calls."""


def clock_waiter(clock: Clock, speed: float = 1.0) -> Waiter:
    """A `Waiter` that sleeps by `clock`, never longer than `slot - now` (the tick's own reading)
    so that a clock that jumps cannot stall a tick. `speed` is how many of the clock's seconds
    pass per real second (1 for the system clock; more for the demo's simulated morning)."""

    def wait_until(slot: datetime, now: datetime) -> timedelta:
        delay = min(slot - clock(), slot - now).total_seconds()
        if delay > 0:
            time.sleep(delay / speed)
        return max(clock() - slot, timedelta(0))

    return wait_until


#: Waiting by the system clock: what a worker does unless told otherwise.
wait_by_system_clock: Final[Waiter] = clock_waiter(system_clock)


@dataclass(frozen=True)
class DispatchOptions:
    """How a tick works; the defaults are the production ones.

    `horizon`: slots are handed out up to this far ahead of `now`, and the tick waits for each
    (`wait_until(slot, now)`); `lead`: no slot sooner than this after `now` (nor than one
    interval of the slower rate), so that the claim transaction has committed before the slot
    comes. A call that would still start more than `late_tolerance` after its slot (a slow
    commit, a busy host) takes a fresh slot instead, so it is not bunched with the next one.
    """

    batch_size: int = 50
    horizon: timedelta = timedelta(seconds=1)
    lead: timedelta = timedelta(milliseconds=100)
    late_tolerance: timedelta = timedelta(milliseconds=10)
    ring_timeout: int = 25
    rejected_retry: timedelta = timedelta(minutes=30)
    unfound_retry: timedelta = timedelta(minutes=2)
    auth_pause: timedelta = timedelta(minutes=1)
    wait_until: Waiter = wait_by_system_clock
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class TickResult:
    """What one tick did. `more`: some campaign had more due entries than this tick claimed,
    so another tick now may dial again; `stopped` says why a tick gave up early."""

    claimed: int = 0
    placed: int = 0
    adopted: int = 0
    failed: int = 0
    released: int = 0
    unresolved: int = 0
    deferred: int = 0
    suppressed: int = 0
    paused_until: datetime | None = None
    stopped: str | None = None
    more: bool = False


@dataclass(frozen=True)
class Placement:
    """A committed attempt and the request that places its call."""

    attempt_id: int
    campaign_id: str
    slot: datetime
    request: CallRequest

    def ref(self) -> AttemptRef:
        return AttemptRef(
            id=self.attempt_id,
            phone=self.request.to,
            caller_id=self.request.from_,
            started_at=self.slot,
            call_sid=None,
        )


def dispatch_tick(
    session_factory: sessionmaker[Session],
    config: Config,
    provider: TelephonyProvider,
    settings: Settings,
    *,
    now: datetime,
    options: DispatchOptions | None = None,
) -> TickResult:
    """Claim, check and place the calls due at `now`; see the module docstring."""
    require_aware(now)
    tick = _Tick(session_factory, config, provider, public_base_url(settings), now, options)
    return tick.run()


def public_base_url(settings: Settings) -> str:
    """The base of the webhook URLs Twilio calls back; dialling needs it."""
    if not settings.public_base_url:
        raise DispatchConfigError(
            "PUBLIC_BASE_URL is not set: Twilio needs it to fetch each call's instructions"
        )
    return settings.public_base_url.rstrip("/")


def open_campaigns(config: Config, calendars: CalendarCache, now: datetime) -> list[Campaign]:
    """Campaigns that may dial at `now`, highest priority first."""
    ordered = sorted(config.campaigns, key=lambda campaign: (-campaign.priority, campaign.id))
    return [
        campaign
        for campaign in ordered
        if is_running(config, campaign, now) and is_callable(calendars.rules(campaign.id), now)
    ]


class _Tick:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        config: Config,
        provider: TelephonyProvider,
        base_url: str,
        now: datetime,
        options: DispatchOptions | None,
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.provider = provider
        self.base_url = base_url
        self.now = now
        self.options = options or DispatchOptions()
        self.calendars = CalendarCache(config)
        self.result = TickResult()

    def run(self) -> TickResult:
        placements = self.claim()
        for index, placement in enumerate(placements):
            if self.place(placement):
                self.release_unsent(placements[index + 1 :])
                self.result.more = False
                break
        return self.result

    # --- the claim transaction -----------------------------------------------------------

    def claim(self) -> list[Placement]:
        campaigns = open_campaigns(self.config, self.calendars, self.now)
        if not campaigns:
            return []
        with self.session_factory() as session, session.begin():
            paused = paused_campaign_ids(session)
            campaigns = [c for c in campaigns if c.id not in paused]
            if any(c.pacing.mode == "ivr-then-agent" for c in campaigns):
                queues = read_outlook(session, self.config, now=self.now)
                campaigns = [c for c in campaigns if not self.queue_full(queues, c)]
            entries = self.lock_due(session, campaigns)
            if not entries:
                return []
            verdicts = check_entries(
                session, self.config, entries, now=self.now, calendars=self.calendars
            )
            started = self.start_attempts(session, entries, verdicts)
            session.flush()
            placements = [self.placement(attempt) for attempt in started]
        for placement in placements:
            log_event(
                logger,
                "attempt_started",
                level=logging.DEBUG,
                attempt_id=placement.attempt_id,
                campaign_id=placement.campaign_id,
                phone=placement.request.to,
                slot=placement.slot,
            )
        return placements

    def queue_full(self, queues: QueueOutlook, campaign: Campaign) -> bool:
        full = queues.is_full(self.config, campaign)
        if full:
            log_event(
                logger,
                "hold_queue_full",
                level=logging.DEBUG,
                campaign_id=campaign.id,
                expected_wait=queues.expected_wait(self.config, campaign),
            )
        return full

    def lock_due(self, session: Session, campaigns: Sequence[Campaign]) -> list[CallListEntry]:
        """The entries to judge, in dialling order, locked (skipping those locked elsewhere)."""
        options = self.options
        book = estimate_permits(
            session,
            self.config,
            [campaign.id for campaign in campaigns],
            now=self.now,
            horizon=options.horizon,
            lead=options.lead,
        )
        budget = options.batch_size
        entries: list[CallListEntry] = []
        for campaign in campaigns:
            wanted = book.available(campaign.id, limit=budget)
            if wanted == 0:
                continue
            query = (
                sa.select(CallListEntry)
                .where(
                    CallListEntry.campaign_id == campaign.id,
                    CallListEntry.state == EntryState.PENDING,
                    CallListEntry.next_attempt_at <= self.now,
                )
                .order_by(
                    CallListEntry.priority.desc(),
                    CallListEntry.next_attempt_at,
                    CallListEntry.id,
                )
                .limit(wanted)
                .with_for_update(skip_locked=True)
            )
            claimed = list(session.scalars(query))
            for _ in claimed:
                book.take(campaign.id)
            budget -= len(claimed)
            self.result.more |= len(claimed) == wanted
            entries += claimed
        self.result.claimed = len(entries)
        return entries

    def start_attempts(
        self,
        session: Session,
        entries: Sequence[CallListEntry],
        verdicts: dict[int, Verdict],
    ) -> list[Attempt]:
        to_dial = sorted({e.campaign_id for e in entries if verdicts[e.id].action is Action.DIAL})
        book = (
            lock_permits(
                session,
                self.config,
                to_dial,
                now=self.now,
                horizon=self.options.horizon,
                lead=self.options.lead,
            )
            if to_dial
            else None
        )
        started: list[Attempt] = []
        for entry in entries:
            verdict = verdicts[entry.id]
            if verdict.action is not Action.DIAL or book is None:
                self.apply_verdict(entry, verdict)
                continue
            slot = book.take(entry.campaign_id)
            if slot is None:
                continue
            closing = calendar_verdict(self.calendars.rules(entry.campaign_id), slot)
            if closing is not None:
                self.apply_verdict(entry, closing)
                continue
            assert verdict.phone is not None
            started.append(self.new_attempt(session, entry, verdict.phone, slot))
        if book is not None:
            book.save(session)
        return started

    def apply_verdict(self, entry: CallListEntry, verdict: Verdict) -> None:
        if verdict.action is Action.DEFER:
            entry.next_attempt_at = verdict.until
            self.result.deferred += 1
        elif verdict.action is Action.SUPPRESS:
            entry.state = EntryState.SUPPRESSED
            entry.suppressed_reason = verdict.reason
            self.result.suppressed += 1
        else:
            return
        log_event(
            logger,
            f"entry_{verdict.action.value}",
            entry_id=entry.id,
            campaign_id=entry.campaign_id,
            reason=verdict.reason,
            until=verdict.until,
        )

    def new_attempt(
        self, session: Session, entry: CallListEntry, phone: str, slot: datetime
    ) -> Attempt:
        campaign = self.config.campaign(entry.campaign_id)
        number = entry.attempt_count + 1
        attempt = Attempt(
            entry_id=entry.id,
            attempt_number=number,
            campaign_id=entry.campaign_id,
            customer_id=entry.customer_id,
            phone=phone,
            caller_id=self.config.caller_id_of(campaign),
            started_at=slot,
        )
        session.add(attempt)
        entry.attempt_count = number
        entry.state = EntryState.IN_PROGRESS
        entry.last_attempt_at = slot
        entry.phone = phone
        return attempt

    def placement(self, attempt: Attempt) -> Placement:
        campaign = self.config.campaign(attempt.campaign_id)
        assert attempt.caller_id is not None
        base = self.base_url
        # Detection runs in the background so that a person hears the greeting at once; a
        # campaign that leaves a message waits for the beep (`dialer.amd_followup`).
        request = CallRequest(
            to=attempt.phone,
            from_=attempt.caller_id,
            url=f"{base}/twilio/voice/{attempt.id}",
            status_callback=f"{base}/twilio/status?attempt={attempt.id}",
            timeout=self.options.ring_timeout,
            machine_detection=(
                "DetectMessageEnd" if campaign.ivr.machine.leaves_message else "Enable"
            ),
            async_amd=True,
            async_amd_status_callback=f"{base}/twilio/amd?attempt={attempt.id}",
        )
        return Placement(attempt.id, attempt.campaign_id, attempt.started_at, request)

    # --- placing the calls ---------------------------------------------------------------

    def place(self, placement: Placement) -> bool:
        """Place one call; True when the rest of the tick must not be placed."""
        on_time = self.wait_for_slot(placement)
        if on_time is None:
            return False
        placement = on_time
        if self.given_up(placement):
            return False
        try:
            call = self.provider.place_call(placement.request)
        except TransientError as error:
            retry_after = getattr(error, "retry_after", None)
            self.stop(placement, error, retry_after=retry_after, level=logging.WARNING)
            return True
        except AmbiguousOutcomeError as error:
            return self.reconcile_now(placement, error)
        except InvalidNumberError as error:
            self.fail(placement, error)
            return False
        except RejectedError as error:
            self.reject(placement, error)
            return False
        except AuthenticationError as error:
            self.stop(
                placement,
                error,
                retry_after=self.options.auth_pause.total_seconds(),
                level=logging.CRITICAL,
            )
            self.result.stopped = "authentication"
            return True
        self.record(placement, call)
        return False

    def wait_for_slot(self, placement: Placement) -> Placement | None:
        """Wait for the call's slot; a call too late for it is given a fresh one (at most
        `RESLOT_LIMIT` times, then it goes as it is). None: the calendar closed meanwhile, and
        the attempt was given back.

        Only where slots are further apart than the tolerance: closer together, placing the
        calls one after another is what sets their pace, and a fresh slot would be no more
        punctual than the one missed.
        """
        late = self.options.wait_until(placement.slot, self.now)
        if self.spacing(placement.campaign_id) <= self.options.late_tolerance:
            return placement
        for _ in range(RESLOT_LIMIT):
            if late <= self.options.late_tolerance:
                break
            at = placement.slot + late
            with self.session_factory() as session, session.begin():
                slot = reslot(
                    session,
                    self.config,
                    placement.campaign_id,
                    placement.attempt_id,
                    now=at,
                    lead=self.options.lead,
                )
            log_event(
                logger,
                "attempt_reslotted",
                attempt_id=placement.attempt_id,
                late_ms=round(late.total_seconds() * 1000),
                slot=slot,
            )
            closing = calendar_verdict(self.calendars.rules(placement.campaign_id), slot)
            if closing is not None:
                self.release(placement, retry_at=closing.until or slot)
                return None
            placement = replace(placement, slot=slot)
            late = self.options.wait_until(slot, at)
        return placement

    def spacing(self, campaign_id: str) -> timedelta:
        """The time between two of the campaign's slots: the slower of its rate and the
        account's."""
        campaign = campaign_limits(self.config.campaign(campaign_id))
        return max(campaign.interval, account_limits(self.config).interval)

    def given_up(self, placement: Placement) -> bool:
        """Whether the attempt was given up while its call waited for the slot (a stalled
        tick outlived by reconciliation): then it is not placed, since its entry may already
        be dialled again."""
        with self.session_factory() as session, session.begin():
            if not is_given_up(session, placement.attempt_id):
                return False
        log_event(logger, "attempt_given_up_before_placing", attempt_id=placement.attempt_id)
        return True

    def record(self, placement: Placement, call: CallInfo) -> None:
        with self.session_factory() as session, session.begin():
            orphan = False
            if not record_created_call(session, placement.attempt_id, call):
                orphan = is_given_up(session, placement.attempt_id)
                if not orphan:
                    apply_call(session, self.config, placement.attempt_id, call, now=self.now)
        if self.result.placed == 0:
            # A transaction of its own: the account's row is never waited for while this
            # attempt's row is held (a claim holds the account's row while it takes entries).
            with self.session_factory() as session, session.begin():
                note_accepted(session)
        if orphan:
            self.hang_up_orphan(placement, call)
            return
        self.result.placed += 1
        log_event(
            logger,
            "call_placed",
            attempt_id=placement.attempt_id,
            campaign_id=placement.campaign_id,
            phone=placement.request.to,
            call_sid=call.sid,
            status=call.status,
        )

    def hang_up_orphan(self, placement: Placement, call: CallInfo) -> None:
        """A call created for an attempt given up meanwhile belongs to nobody: end it before
        it rings, so that the customer is never called twice at once."""
        fields: dict[str, Any] = {"attempt_id": placement.attempt_id, "call_sid": call.sid}
        try:
            if not call.is_final:
                self.provider.hangup(call.sid)
        except TelephonyError as error:
            log_event(
                logger, "orphan_call_not_ended", level=logging.ERROR, error=str(error), **fields
            )
            return
        log_event(logger, "orphan_call_ended", level=logging.WARNING, **fields)

    def reconcile_now(self, placement: Placement, error: AmbiguousOutcomeError) -> bool:
        """After a create whose fate is unknown: adopt the call if it exists, else give up the
        attempt; True (stop the tick) when the provider seems to be in trouble."""
        fields: dict[str, Any] = {"attempt_id": placement.attempt_id, "error": str(error)}
        try:
            call = find_call(self.session_factory, self.provider, placement.ref())
        except TelephonyError as listing_error:
            self.result.unresolved += 1
            log_event(
                logger,
                "create_unresolved",
                level=logging.ERROR,
                listing_error=str(listing_error),
                **fields,
            )
            self.pause(retry_after=None)
            self.result.stopped = "provider_unreachable"
            return True
        if call is not None:
            self.result.adopted += 1
            log_event(logger, "call_adopted", level=logging.WARNING, call_sid=call.sid, **fields)
            self.record(placement, call)
            return False
        log_event(logger, "create_not_placed", level=logging.WARNING, **fields)
        self.release(placement, retry_at=self.now + self.options.unfound_retry)
        self.pause(retry_after=None)
        self.result.stopped = "provider_error"
        return True

    def fail(self, placement: Placement, error: InvalidNumberError) -> None:
        with self.session_factory() as session, session.begin():
            attempt = locked_attempt(session, placement.attempt_id)
            finish_attempt(
                session,
                self.config,
                attempt,
                outcome=Outcome.FAILED,
                error_code=error.code,
                now=self.now,
            )
        self.result.failed += 1
        log_event(
            logger,
            "number_invalid",
            level=logging.WARNING,
            attempt_id=placement.attempt_id,
            phone=placement.request.to,
            error_code=error.code,
        )

    def reject(self, placement: Placement, error: RejectedError) -> None:
        retry_at = self.now + self.options.rejected_retry
        self.release(placement, retry_at=retry_at, error_code=error.code)
        log_event(
            logger,
            "create_rejected",
            level=logging.ERROR,
            attempt_id=placement.attempt_id,
            error_code=error.code,
            error=str(error),
            retry_at=retry_at,
        )

    def stop(
        self,
        placement: Placement,
        error: TelephonyError,
        *,
        retry_after: float | None,
        level: int,
    ) -> None:
        until = self.pause(retry_after=retry_after)
        self.release(placement, retry_at=until)
        log_event(
            logger,
            "provider_refused",
            level=level,
            attempt_id=placement.attempt_id,
            error=type(error).__name__,
            detail=str(error),
            paused_until=until,
        )

    def pause(self, *, retry_after: float | None) -> datetime:
        with self.session_factory() as session, session.begin():
            until = pause_account(
                session, now=self.now, retry_after=retry_after, rng=self.options.rng
            )
        self.result.paused_until = until
        return until

    def release(
        self, placement: Placement, *, retry_at: datetime, error_code: int | None = None
    ) -> None:
        with self.session_factory() as session, session.begin():
            released = release(
                session,
                self.config,
                placement.attempt_id,
                now=self.now,
                retry_at=retry_at,
                error_code=error_code,
            )
        self.result.released += released

    def release_unsent(self, placements: Sequence[Placement]) -> None:
        """Give back attempts the provider never saw, due again when the pause ends."""
        retry_at = self.result.paused_until or self.now
        for placement in placements:
            self.release(placement, retry_at=retry_at)
