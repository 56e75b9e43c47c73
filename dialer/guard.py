"""The compliance check at the moment of dialling (DESIGN.md, invariant 1).

A list built yesterday is not trusted today: every entry the dispatcher claims is judged again,
inside the claim transaction, against

1. the campaign: still in the configuration, enabled and within its dates;
2. the calendar: `is_callable` for the campaign at this instant (windows in its time zone,
   public holidays, blackouts, policy hours, the last-dial margin);
3. the suppression rules of the list build, for this one customer, through
   `dialer.suppression.suppression_reasons` (DNC by customer and by any of their numbers,
   refused before, consent, a dialable phone, contact cooldown, weekly cap, a higher-priority
   campaign): one definition for the list, `dialer plan`, `dialer why` and this check;
4. the number: the customer's first dialable phone now, which is what gets dialled (the entry's
   stored number is updated when the import has judged the numbers differently since);
5. one call per person at a time: no other entry of the customer, or for the same number, is in
   progress, and no earlier entry of the same batch dials them.

What happens to an entry that fails is part of the verdict: a closed calendar defers it to the
next callable instant, a suppression rule parks it with its reason (the list build returns it
to pending when the rule lifts), a call already in progress defers it a few minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from dialer.calendar import CallingRules, closed_reason, is_callable, next_callable
from dialer.campaigns import Config, calling_rules
from dialer.models import Attempt, CallListEntry, CustomerPhone, EntryState
from dialer.pacing import live_attempts
from dialer.suppression import (
    dialable,
    is_running,
    suppression_context,
    suppression_reasons,
)
from dialer.wallclock import require_aware

#: How long an entry waits when its customer (or number) is already on a call.
BUSY_DELAY: Final = timedelta(minutes=5)
#: How long an entry waits when its campaign's calendar has no open instant in sight.
NO_OPENING_DELAY: Final = timedelta(days=1)


class Action(StrEnum):
    """What the dispatcher does with a claimed entry."""

    DIAL = "dial"
    DEFER = "defer"  # stays pending, next_attempt_at moves to `until`
    SUPPRESS = "suppress"  # parked with `reason`
    SKIP = "skip"  # left exactly as it is


@dataclass(frozen=True)
class Verdict:
    """The judgement on one entry; `phone` is the number to dial when the action is DIAL."""

    action: Action
    reason: str | None = None
    until: datetime | None = None
    phone: str | None = None


class CalendarCache:
    """Each campaign's `CallingRules`, built once per tick."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._rules: dict[str, CallingRules] = {}

    def rules(self, campaign_id: str) -> CallingRules:
        if campaign_id not in self._rules:
            self._rules[campaign_id] = calling_rules(self._config, campaign_id)
        return self._rules[campaign_id]


def calendar_verdict(rules: CallingRules, at: datetime) -> Verdict | None:
    """None when a call may start at `at`; otherwise defer to the next callable instant."""
    if is_callable(rules, at):
        return None
    closure = closed_reason(rules, at)
    reason = closure.kind.value if closure is not None else "closed"
    opening = next_callable(rules, at)
    until = opening if opening is not None else at + NO_OPENING_DELAY
    return Verdict(Action.DEFER, reason=reason, until=until)


def check_entries(
    session: Session,
    config: Config,
    entries: Sequence[CallListEntry],
    *,
    now: datetime,
    calendars: CalendarCache | None = None,
) -> dict[int, Verdict]:
    """A verdict for each entry (by id), judged at `now` in the caller's transaction.

    `entries` are in the order they would be dialled: of two entries reaching the same person
    or number, the first wins.
    """
    require_aware(now)
    calendars = calendars or CalendarCache(config)
    verdicts: dict[int, Verdict] = {}
    candidates: list[CallListEntry] = []
    for entry in entries:
        verdict = _campaign_verdict(config, calendars, entry, now)
        if verdict is None:
            candidates.append(entry)
        else:
            verdicts[entry.id] = verdict
    verdicts.update(_suppression_verdicts(session, config, candidates, now))
    remaining = [entry for entry in candidates if entry.id not in verdicts]
    phones = current_phones(session, [entry.customer_id for entry in remaining])
    busy_customers, busy_phones = _on_a_call(
        session, [entry.customer_id for entry in remaining], list(phones.values()), now
    )
    for entry in remaining:
        phone = phones.get(entry.customer_id)
        if phone is None:
            verdicts[entry.id] = Verdict(Action.SUPPRESS, reason="no_dialable_phone")
        elif entry.customer_id in busy_customers or phone in busy_phones:
            verdicts[entry.id] = Verdict(Action.DEFER, reason="on_a_call", until=now + BUSY_DELAY)
        else:
            verdicts[entry.id] = Verdict(Action.DIAL, phone=phone)
            busy_customers.add(entry.customer_id)
            busy_phones.add(phone)
    return verdicts


def _campaign_verdict(
    config: Config, calendars: CalendarCache, entry: CallListEntry, now: datetime
) -> Verdict | None:
    campaign = next((c for c in config.campaigns if c.id == entry.campaign_id), None)
    if campaign is None or not is_running(config, campaign, now):
        return Verdict(Action.SKIP, reason="campaign_not_running")
    return calendar_verdict(calendars.rules(campaign.id), now)


def _suppression_verdicts(
    session: Session, config: Config, entries: Sequence[CallListEntry], now: datetime
) -> dict[int, Verdict]:
    verdicts: dict[int, Verdict] = {}
    connection = session.connection()
    for campaign_id in dict.fromkeys(entry.campaign_id for entry in entries):
        of_campaign = [entry for entry in entries if entry.campaign_id == campaign_id]
        context = suppression_context(config, campaign_id, now=now)
        reasons = suppression_reasons(
            connection, context, [entry.customer_id for entry in of_campaign]
        )
        for entry in of_campaign:
            reason = reasons.get(entry.customer_id)
            if reason is not None:
                verdicts[entry.id] = Verdict(Action.SUPPRESS, reason=reason.value)
    return verdicts


def current_phones(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """Each customer's first dialable number by preference (customers without one are absent)."""
    if not customer_ids:
        return {}
    phone = aliased(CustomerPhone)
    query = (
        sa.select(phone.customer_id, phone.e164)
        .where(phone.customer_id.in_(customer_ids), dialable(phone))
        .order_by(phone.customer_id, phone.preference)
    )
    phones: dict[int, str] = {}
    for customer_id, e164 in session.execute(query):
        if e164 is not None:
            phones.setdefault(customer_id, e164)
    return phones


def _on_a_call(
    session: Session, customer_ids: Sequence[int], phones: Sequence[str], now: datetime
) -> tuple[set[int], set[str]]:
    """Of these customers and numbers, those on a call now: an entry in progress is calling
    them, or an attempt is still live (an entry may be due again while its call goes on, e.g.
    once the customer asked to be called back, before the call has hung up)."""
    if not customer_ids:
        return set(), set()
    entries = sa.select(CallListEntry.customer_id, CallListEntry.phone).where(
        CallListEntry.state == EntryState.IN_PROGRESS,
        sa.or_(CallListEntry.customer_id.in_(customer_ids), CallListEntry.phone.in_(phones)),
    )
    attempts = sa.select(Attempt.customer_id, Attempt.phone).where(
        live_attempts(now),
        sa.or_(Attempt.customer_id.in_(customer_ids), Attempt.phone.in_(phones)),
    )
    customers: set[int] = set()
    numbers: set[str] = set()
    for query in (entries, attempts):
        for customer_id, phone in session.execute(query):
            customers.add(customer_id)
            if phone is not None:
                numbers.add(phone)
    return customers, numbers
