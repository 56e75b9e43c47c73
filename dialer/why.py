"""`dialer why`: why a customer was, or was not, called, campaign by campaign.

Supervisors ask it more than anything else, and the dashboard's customer page shows the same
report. Every verdict comes from the code that acts: segment membership from the segment's SQL
(`explain_customer`, and its `limit` through `segment_query`), suppression from the rules the
list build and the dispatcher apply (evaluated now, not as stored at the last build), and the
next call from the calendar. The stored entry is shown beside the live verdict, so a list that a
rebuild would change is visible as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dialer.calendar import next_callable
from dialer.campaigns import Campaign, Config, calling_rules
from dialer.lists import Skipped, build_order, skip_reason
from dialer.models import CallListEntry, Customer, CustomerPhone, EntryState
from dialer.phones import mask
from dialer.segment_sql import Explanation, UnknownCustomerError, explain_customer, segment_query
from dialer.suppression import is_running, suppression_context
from dialer.suppression_evidence import Suppression, explain_suppressions
from dialer.wallclock import require_aware


class CampaignStatus(StrEnum):
    """A campaign's switch and dates at the report's instant."""

    RUNNING = "running"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    DISABLED = "disabled"


class Verdict(StrEnum):
    """Where the customer stands with one campaign, now."""

    WOULD_CALL = "would_call"
    CALLING = "calling"
    SUPPRESSED = "suppressed"
    NOT_IN_SEGMENT = "not_in_segment"
    DONE = "done"
    CAMPAIGN_DISABLED = "campaign_disabled"
    CAMPAIGN_ENDED = "campaign_ended"


@dataclass(frozen=True)
class PhoneView:
    """One of the customer's numbers, masked, with the import's verdict on it."""

    raw: str
    masked: str | None
    phone_class: str | None
    refusal_reason: str | None


@dataclass(frozen=True)
class EntryView:
    """The customer's entry in one campaign's list, as stored."""

    state: EntryState
    attempts: int
    last_outcome: str | None
    last_attempt_at: datetime | None
    priority: int
    next_attempt_at: datetime | None
    suppressed_reason: str | None
    closed_reason: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class SegmentView:
    """Membership: `matches` says the conditions hold; `member` also applies the `limit`
    (`rank` is the customer's place when a limit is set and the conditions hold)."""

    member: bool
    matches: bool
    rank: int | None
    limit: int | None
    explanation: Explanation


@dataclass(frozen=True)
class CampaignWhy:
    """One campaign's answer. `suppressions` are every rule that holds now, judged only when the
    campaign would otherwise call the customer. `next_call_at` is the next instant the customer
    could be called (None: not by this campaign, or not until someone acts); `list_current` is
    False when the next list build will change the stored entry (a rule lifted or began, or the
    segment changed, since the last one)."""

    campaign: Campaign
    timezone: ZoneInfo
    status: CampaignStatus
    verdict: Verdict
    segment: SegmentView
    entry: EntryView | None
    suppressions: tuple[Suppression, ...]
    next_call_at: datetime | None
    list_current: bool


@dataclass(frozen=True)
class WhyReport:
    customer_id: int
    external_id: str
    name: str
    opt_in: bool | None
    phones: tuple[PhoneView, ...]
    now: datetime
    #: The company's zone, in which `now` is shown; each campaign has its own.
    timezone: ZoneInfo
    campaigns: tuple[CampaignWhy, ...]


def why(session: Session, config: Config, customer_external_id: str, *, now: datetime) -> WhyReport:
    """The report for the customer the shop calls `customer_external_id`, for every campaign in
    build order; raises `UnknownCustomerError` (a `DialerError`) when no customer has that id.

    Read only; a transaction the call had to open is closed again (on SQLite every transaction
    holds the write lock)."""
    require_aware(now)
    opened = not session.in_transaction()
    try:
        return _report(session.connection(), config, customer_external_id, now)
    finally:
        if opened:
            session.rollback()


def _report(connection: Connection, config: Config, external_id: str, now: datetime) -> WhyReport:
    customer = _customer(connection, external_id)
    entries = _entries(connection, customer.id)
    return WhyReport(
        customer_id=customer.id,
        external_id=customer.external_id,
        name=customer.name,
        opt_in=customer.opt_in,
        phones=_phones(connection, customer.id),
        now=now,
        timezone=ZoneInfo(config.company.timezone),
        campaigns=tuple(
            _campaign_why(connection, config, campaign, customer.id, entries.get(campaign.id), now)
            for campaign in build_order(config)
        ),
    )


def _customer(connection: Connection, external_id: str) -> sa.Row[int, str, str, bool | None]:
    query = sa.select(Customer.id, Customer.external_id, Customer.name, Customer.opt_in).where(
        Customer.external_id == external_id
    )
    row = connection.execute(query).one_or_none()
    if row is None:
        raise UnknownCustomerError(f"no customer with id '{external_id}'")
    return row


def _phones(connection: Connection, customer_id: int) -> tuple[PhoneView, ...]:
    query = (
        sa.select(
            CustomerPhone.raw,
            CustomerPhone.e164,
            CustomerPhone.phone_class,
            CustomerPhone.refusal_reason,
        )
        .where(CustomerPhone.customer_id == customer_id)
        .order_by(CustomerPhone.preference)
    )
    return tuple(
        PhoneView(raw, mask(e164) if e164 else None, phone_class, refusal)
        for raw, e164, phone_class, refusal in connection.execute(query)
    )


def _entries(connection: Connection, customer_id: int) -> dict[str, EntryView]:
    entry = CallListEntry
    query = sa.select(
        entry.campaign_id,
        entry.state,
        entry.attempt_count,
        entry.last_outcome,
        entry.last_attempt_at,
        entry.priority,
        entry.next_attempt_at,
        entry.suppressed_reason,
        entry.closed_reason,
        entry.closed_at,
    ).where(entry.customer_id == customer_id)
    return {
        row.campaign_id: EntryView(
            state=row.state,
            attempts=row.attempt_count,
            last_outcome=row.last_outcome,
            last_attempt_at=row.last_attempt_at,
            priority=row.priority,
            next_attempt_at=row.next_attempt_at,
            suppressed_reason=row.suppressed_reason,
            closed_reason=row.closed_reason,
            closed_at=row.closed_at,
        )
        for row in connection.execute(query)
    }


def _campaign_why(
    connection: Connection,
    config: Config,
    campaign: Campaign,
    customer_id: int,
    entry: EntryView | None,
    now: datetime,
) -> CampaignWhy:
    segment = _segment_view(connection, config, campaign, customer_id, now)
    verdict = _standing(skip_reason(config, campaign, now), segment, entry)
    suppressions: tuple[Suppression, ...] = ()
    if verdict is Verdict.WOULD_CALL:
        ctx = suppression_context(config, campaign.id, now=now)
        found = explain_suppressions(connection, ctx, [customer_id])
        suppressions = tuple(found.get(customer_id, ()))
        verdict = Verdict.SUPPRESSED if suppressions else verdict
    return CampaignWhy(
        campaign=campaign,
        timezone=config.timezone_of(campaign),
        status=campaign_status(config, campaign, now),
        verdict=verdict,
        segment=segment,
        entry=entry,
        suppressions=suppressions,
        next_call_at=_next_call(config, campaign, verdict, entry, suppressions, now),
        list_current=_list_current(verdict, entry, suppressions),
    )


def campaign_status(config: Config, campaign: Campaign, now: datetime) -> CampaignStatus:
    """Where the campaign stands at `now`, by its switch and its dates (in its own zone)."""
    skipped = skip_reason(config, campaign, now)
    if skipped is not None:
        return CampaignStatus(skipped.value)
    if is_running(config, campaign, now):
        return CampaignStatus.RUNNING
    return CampaignStatus.NOT_STARTED


def _segment_view(
    connection: Connection, config: Config, campaign: Campaign, customer_id: int, now: datetime
) -> SegmentView:
    """The conditions for the customer; with a `limit`, whether the customer makes the cut,
    which takes evaluating the whole segment once."""
    zone = config.timezone_of(campaign)
    explanation = explain_customer(
        connection, campaign.segment, customer_id, rfm=config.rfm, as_of=now, timezone=zone
    )
    limit = campaign.segment.limit
    if limit is None or not explanation.matches:
        return SegmentView(explanation.matches, explanation.matches, None, limit, explanation)
    members = segment_query(campaign.segment, rfm=config.rfm, as_of=now, timezone=zone).subquery()
    rank = connection.execute(
        sa.select(members.c.rank).where(members.c.customer_id == customer_id)
    ).scalar_one_or_none()
    return SegmentView(rank is not None, True, rank, limit, explanation)


def _standing(skipped: Skipped | None, segment: SegmentView, entry: EntryView | None) -> Verdict:
    """The verdict before suppression: the rules are only judged for a customer the campaign
    would otherwise call (a member, or an entry kept for its attempts)."""
    if skipped is Skipped.DISABLED:
        return Verdict.CAMPAIGN_DISABLED
    if skipped is Skipped.ENDED:
        return Verdict.CAMPAIGN_ENDED
    if entry is not None and entry.state is EntryState.DONE:
        return Verdict.DONE
    if entry is not None and entry.state is EntryState.IN_PROGRESS:
        return Verdict.CALLING
    if not (segment.member or _kept_outside_segment(entry)):
        return Verdict.NOT_IN_SEGMENT
    return Verdict.WOULD_CALL


def _kept_outside_segment(entry: EntryView | None) -> bool:
    """An entry with attempts stays on the list when its customer leaves the segment."""
    return (
        entry is not None
        and entry.attempts > 0
        and entry.state in (EntryState.PENDING, EntryState.SUPPRESSED)
    )


def _next_call(
    config: Config,
    campaign: Campaign,
    verdict: Verdict,
    entry: EntryView | None,
    suppressions: tuple[Suppression, ...],
    now: datetime,
) -> datetime | None:
    """From the later of now, the entry's due time and the moment every rule has lifted, the
    first instant the calendar allows."""
    if verdict is Verdict.SUPPRESSED:
        lifts = [suppression.until for suppression in suppressions]
        if any(until is None for until in lifts):
            return None
        start = _latest(now, *lifts)
    elif verdict is Verdict.WOULD_CALL:
        due = entry.next_attempt_at if entry and entry.state is EntryState.PENDING else None
        start = _latest(now, due)
    else:
        return None
    return next_callable(calling_rules(config, campaign.id), start)


def _latest(now: datetime, *instants: datetime | None) -> datetime:
    """The latest instant, compared in UTC (see `dialer.calendar.next_callable`)."""
    return max(at.astimezone(UTC) for at in (now, *instants) if at is not None)


def _list_current(
    verdict: Verdict, entry: EntryView | None, suppressions: tuple[Suppression, ...]
) -> bool:
    """Whether the stored entry already says what a build now would make of it."""
    stored = entry.state if entry is not None else None
    if verdict is Verdict.WOULD_CALL:
        return stored is EntryState.PENDING
    if verdict is Verdict.SUPPRESSED:
        return (
            stored is EntryState.SUPPRESSED
            and entry is not None
            and entry.suppressed_reason == suppressions[0].reason.value
        )
    if verdict is Verdict.NOT_IN_SEGMENT:
        return stored in (None, EntryState.RETIRED)
    return True
