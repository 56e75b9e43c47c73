"""The retry policy: what an entry does after an attempt, and when it is called again.

Pure functions over the campaign's `retry` section and its `CallingRules`; `now` is an
argument. `dialer.outcomes.finish_attempt` applies `next_step` to the database.

Decisions:
- A delay counts from the end of the call (`now`), and a retry that falls outside the calling
  windows moves to the next open instant (`calendar.next_callable`).
- `vary_time_of_day`: the retry goes to the first open instant whose part of the day (午前,
  午後, 夕方 in the campaign's zone) differs from the last attempt's, when one exists within
  `VARY_HORIZON` of the earliest allowed time; otherwise to the plain next open instant, so that
  a campaign that only calls in the afternoon still retries.
- `max_attempts` is checked before the delay: the last allowed attempt closes the entry with
  `max_attempts`, whatever its outcome's delay.
- A canceled call is one this system cancelled before it was answered: it is not the
  customer's doing, so it does not count against `max_attempts` (the caller leaves it out of
  `attempts_made`) and the entry is due again at the next open instant, without a delay.
- No open instant left (the campaign's last day has passed) closes the entry `campaign_over`,
  rather than leaving it pending for a time that never comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.calendar import CallingRules, next_callable
from dialer.campaigns import Retry
from dialer.day_parts import next_callable_in_parts, part_of_day
from dialer.outcome_codes import ClosedReason, Outcome
from dialer.wallclock import require_aware

#: How far past the earliest allowed time a retry may move to reach another part of the day.
VARY_HORIZON = timedelta(days=7)


@dataclass(frozen=True)
class Close:
    """The entry is done, for `reason`."""

    reason: ClosedReason


@dataclass(frozen=True)
class Reschedule:
    """The entry is pending again, due at `at`."""

    at: datetime


NextStep = Close | Reschedule


def retry_delay(retry: Retry, outcome: Outcome) -> timedelta | None:
    """The campaign's wait after a retryable `outcome`; None when it is `never` retried."""
    delays = {
        Outcome.BUSY: retry.busy,
        Outcome.NO_ANSWER: retry.no_answer,
        Outcome.MACHINE: retry.machine,
        Outcome.FAILED: retry.failed,
    }
    if outcome not in delays:
        raise ValueError(f"outcome {outcome!r} has no retry delay")
    return delays[outcome]


def next_attempt_time(
    retry: Retry,
    outcome: Outcome,
    attempts_made: int,
    last_started_at: datetime,
    rules: CallingRules,
    *,
    now: datetime,
) -> datetime | None:
    """When to call again after a retryable `outcome`, or None for no further attempt
    (max attempts reached, a `never` delay, or no open time left).

    The result is never before `now` plus the delay and always callable by `rules`.
    """
    require_aware(now)
    if attempts_made >= retry.max_attempts:
        return None
    delay = retry_delay(retry, outcome)
    if delay is None:
        return None
    return retry_time(
        rules, now + delay, last_started_at=last_started_at if retry.vary_time_of_day else None
    )


def retry_time(
    rules: CallingRules, earliest: datetime, *, last_started_at: datetime | None = None
) -> datetime | None:
    """The first open instant at or after `earliest`; given `last_started_at`, preferably one
    in another part of the day than that attempt's (see the module docstring)."""
    plain = next_callable(rules, earliest)
    if plain is None or last_started_at is None:
        return plain
    last_part = part_of_day(last_started_at, rules.timezone)
    if part_of_day(plain, rules.timezone) != last_part:
        return plain
    elsewhere = next_callable_in_parts(rules, last_part.others(), earliest, horizon=VARY_HORIZON)
    return elsewhere or plain


def next_step(
    retry: Retry,
    outcome: Outcome,
    *,
    attempts_made: int,
    last_started_at: datetime,
    rules: CallingRules,
    now: datetime,
    invalid_number: bool = False,
) -> NextStep:
    """What the entry does after an attempt that ended with `outcome`.

    `attempts_made` counts the entry's attempts so far, this one included, canceled ones
    excluded. `invalid_number`: the provider reported the number as one that cannot be called.
    """
    require_aware(now)
    if outcome == Outcome.HUMAN:
        return Close(ClosedReason.REACHED)
    if outcome == Outcome.CANCELED:
        return _reschedule_or_over(next_callable(rules, now))
    if invalid_number:
        return Close(ClosedReason.UNDIALABLE)
    if attempts_made >= retry.max_attempts:
        return Close(ClosedReason.MAX_ATTEMPTS)
    if retry_delay(retry, outcome) is None:
        return Close(ClosedReason.never_retried(outcome))
    at = next_attempt_time(retry, outcome, attempts_made, last_started_at, rules, now=now)
    return _reschedule_or_over(at)


def _reschedule_or_over(at: datetime | None) -> NextStep:
    return Close(ClosedReason.CAMPAIGN_OVER) if at is None else Reschedule(at)
