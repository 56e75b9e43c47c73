"""The data behind a suppression: which DNC entry, which refusal, which contact, which campaign.

The verdict always comes from the rules of `dialer.suppression` (the same SQL the list build
runs); the queries here only gather what a supervisor needs to see to trust it, and when each
rule lifts by itself. They read a handful of customers at a time (`dialer why`, a dashboard
page), never a whole list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dialer.models import (
    Attempt,
    CallListEntry,
    Customer,
    CustomerPhone,
    DncEntry,
    DncSource,
    KeyPress,
)
from dialer.suppression import (
    OPT_OUT_ACTION,
    PRECEDENCE,
    REFUSAL_CLOSED_REASONS,
    WEEK,
    SuppressionContext,
    SuppressionReason,
    counts_towards_weekly_cap,
    dialable,
    holding,
    reached,
    refusal_recorded,
    rule_conditions,
)


@dataclass(frozen=True)
class DncMatch:
    """An active do-not-call entry that names the customer or one of their numbers."""

    entry_id: int
    matched_by: Literal["customer", "phone"]
    phone: str | None
    reason: str
    source: DncSource
    added_at: datetime
    expires_at: datetime | None


RefusalHow = Literal["attempt", "key_press", "closed_entry"]


@dataclass(frozen=True)
class RefusalRecord:
    """One recorded refusal: an operator's disposition or the call's outcome, an opt-out key
    press, or an entry closed as refused."""

    how: RefusalHow
    campaign_id: str
    at: datetime | None
    detail: str


@dataclass(frozen=True)
class ConsentState:
    opt_in: bool | None


@dataclass(frozen=True)
class PhoneOnFile:
    """One of the customer's numbers as imported, with why it may not be dialled."""

    raw: str
    e164: str | None
    phone_class: str | None
    refusal_reason: str | None


@dataclass(frozen=True)
class RecentContact:
    """The latest time another campaign reached the customer, and when the cooldown ends."""

    campaign_id: str
    at: datetime
    cooldown: timedelta
    until: datetime


@dataclass(frozen=True)
class WeeklyAttempts:
    """Attempts in the last 7 days against the cap, and when the count falls below it."""

    count: int
    cap: int
    until: datetime


@dataclass(frozen=True)
class HoldingEntry:
    """An active entry of another campaign that holds the customer."""

    campaign_id: str
    priority: int | None
    entry_id: int
    state: str


Evidence = (
    DncMatch
    | RefusalRecord
    | ConsentState
    | PhoneOnFile
    | RecentContact
    | WeeklyAttempts
    | HoldingEntry
)


@dataclass(frozen=True)
class Suppression:
    """One rule that holds for a customer, with the data behind it.

    `until` is when the rule lifts by itself; None when it only lifts by someone's action
    (a DNC entry removed, a phone corrected, the holding campaign finishing).
    """

    reason: SuppressionReason
    evidence: tuple[Evidence, ...]
    until: datetime | None


Fetcher = Callable[[Connection, SuppressionContext, Sequence[int]], dict[int, list[Evidence]]]


def explain_suppressions(
    connection: Connection, ctx: SuppressionContext, customer_ids: Sequence[int]
) -> dict[int, list[Suppression]]:
    """Every rule that holds for each customer, in precedence order (the first is the reason
    the list build records); customers no rule holds for are absent."""
    holds = _rules_holding(connection, ctx, customer_ids)
    found: dict[int, list[Suppression]] = defaultdict(list)
    for reason in PRECEDENCE:
        ids = [customer_id for customer_id, reasons in holds.items() if reason in reasons]
        if not ids:
            continue
        evidence = _FETCHERS[reason](connection, ctx, ids)
        for customer_id in ids:
            items = tuple(evidence.get(customer_id, ()))
            found[customer_id].append(Suppression(reason, items, _until(reason, items)))
    return dict(found)


def _rules_holding(
    connection: Connection, ctx: SuppressionContext, customer_ids: Sequence[int]
) -> dict[int, set[SuppressionReason]]:
    conditions = rule_conditions(Customer.id, ctx)
    columns = [condition.label(reason.value) for reason, condition in conditions.items()]
    query = sa.select(Customer.id, *columns).where(Customer.id.in_(customer_ids))
    return {
        row[0]: {reason for reason, holds in zip(conditions, row[1:], strict=True) if holds}
        for row in connection.execute(query)
    }


def _until(reason: SuppressionReason, evidence: tuple[Evidence, ...]) -> datetime | None:
    if reason is SuppressionReason.DNC:
        expiries = [item.expires_at for item in evidence if isinstance(item, DncMatch)]
        if expiries and all(expiry is not None for expiry in expiries):
            return max(expiry for expiry in expiries if expiry is not None)
        return None
    times = [item.until for item in evidence if isinstance(item, RecentContact | WeeklyAttempts)]
    return max(times) if times else None


def _grouped(rows: Iterable[tuple[int, Evidence]]) -> dict[int, list[Evidence]]:
    grouped: dict[int, list[Evidence]] = defaultdict(list)
    for customer_id, item in rows:
        grouped[customer_id].append(item)
    return dict(grouped)


_DNC_COLUMNS = (
    DncEntry.id,
    DncEntry.phone,
    DncEntry.reason,
    DncEntry.source,
    DncEntry.added_at,
    DncEntry.expires_at,
)


def _dnc(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    active = DncEntry.active_at(ctx.now)
    by_customer = (
        sa.select(Customer.id, *_DNC_COLUMNS)
        .join(DncEntry, DncEntry.customer_id == Customer.id)
        .where(Customer.id.in_(ids), active)
    )
    by_phone = (
        sa.select(CustomerPhone.customer_id, *_DNC_COLUMNS)
        .join(DncEntry, DncEntry.phone == CustomerPhone.e164)
        .where(CustomerPhone.customer_id.in_(ids), active)
    )
    matches = [
        (row[0], DncMatch(row[1], "customer", *row[2:])) for row in connection.execute(by_customer)
    ]
    matches += [
        (row[0], DncMatch(row[1], "phone", *row[2:])) for row in connection.execute(by_phone)
    ]
    matches.sort(key=lambda pair: (pair[0], pair[1].added_at, pair[1].entry_id))
    return _grouped(matches)


def _refused(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    attempts = sa.select(
        Attempt.customer_id,
        Attempt.campaign_id,
        sa.func.coalesce(Attempt.dispositioned_at, Attempt.started_at),
        Attempt.disposition,
        Attempt.outcome,
    ).where(Attempt.customer_id.in_(ids), refusal_recorded(Attempt))
    keys = (
        sa.select(Attempt.customer_id, Attempt.campaign_id, KeyPress.pressed_at, KeyPress.digits)
        .join(KeyPress, KeyPress.attempt_id == Attempt.id)
        .where(Attempt.customer_id.in_(ids), KeyPress.action == OPT_OUT_ACTION)
    )
    closed = sa.select(
        CallListEntry.customer_id,
        CallListEntry.campaign_id,
        CallListEntry.closed_at,
        CallListEntry.closed_reason,
    ).where(
        CallListEntry.customer_id.in_(ids),
        CallListEntry.closed_reason.in_(REFUSAL_CLOSED_REASONS),
    )
    records: list[tuple[int, RefusalRecord]] = [
        (row[0], RefusalRecord("attempt", row[1], row[2], row[3] or row[4] or ""))
        for row in connection.execute(attempts)
    ]
    records += [
        (row[0], RefusalRecord("key_press", row[1], row[2], row[3]))
        for row in connection.execute(keys)
    ]
    records += [
        (row[0], RefusalRecord("closed_entry", row[1], row[2], row[3] or ""))
        for row in connection.execute(closed)
    ]
    records.sort(key=_latest_first)
    return _grouped(records)


def _latest_first(pair: tuple[int, RefusalRecord]) -> tuple[int, float]:
    at = pair[1].at
    return pair[0], -at.timestamp() if at is not None else 0.0


def _no_consent(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    rows = connection.execute(sa.select(Customer.id, Customer.opt_in).where(Customer.id.in_(ids)))
    return _grouped((row[0], ConsentState(row[1])) for row in rows)


def _no_dialable_phone(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    query = (
        sa.select(
            CustomerPhone.customer_id,
            CustomerPhone.raw,
            CustomerPhone.e164,
            CustomerPhone.phone_class,
            CustomerPhone.refusal_reason,
        )
        .where(CustomerPhone.customer_id.in_(ids), ~dialable(CustomerPhone))
        .order_by(CustomerPhone.customer_id, CustomerPhone.preference)
    )
    return _grouped((row[0], PhoneOnFile(*row[1:])) for row in connection.execute(query))


def _cooldown(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    query = (
        sa.select(Attempt.customer_id, Attempt.campaign_id, Attempt.started_at)
        .where(
            Attempt.customer_id.in_(ids),
            Attempt.campaign_id != ctx.campaign_id,
            Attempt.started_at > ctx.now - ctx.contact_cooldown,
            Attempt.started_at <= ctx.now,
            reached(Attempt),
        )
        .order_by(Attempt.customer_id, Attempt.started_at.desc(), Attempt.id.desc())
    )
    latest: dict[int, list[Evidence]] = {}
    for customer_id, campaign_id, at in connection.execute(query):
        if customer_id not in latest:
            until = at + ctx.contact_cooldown
            latest[customer_id] = [RecentContact(campaign_id, at, ctx.contact_cooldown, until)]
    return latest


def _weekly_cap(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    query = (
        sa.select(Attempt.customer_id, Attempt.started_at)
        .where(
            Attempt.customer_id.in_(ids),
            Attempt.started_at > ctx.now - WEEK,
            Attempt.started_at <= ctx.now,
            counts_towards_weekly_cap(Attempt),
        )
        .order_by(Attempt.customer_id, Attempt.started_at)
    )
    times: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, at in connection.execute(query):
        times[customer_id].append(at)
    return {
        customer_id: [_weekly(starts, ctx.weekly_cap)]
        for customer_id, starts in times.items()
        if len(starts) >= ctx.weekly_cap
    }


def _weekly(starts: list[datetime], cap: int) -> WeeklyAttempts:
    """Below the cap again once `len - cap + 1` of the oldest attempts have aged out."""
    return WeeklyAttempts(len(starts), cap, starts[len(starts) - cap] + WEEK)


def _higher_priority(
    connection: Connection, ctx: SuppressionContext, ids: Sequence[int]
) -> dict[int, list[Evidence]]:
    holds = holding(CallListEntry, CallListEntry.customer_id, ctx)
    if holds is None:
        return {}
    query = (
        sa.select(
            CallListEntry.customer_id,
            CallListEntry.campaign_id,
            CallListEntry.id,
            CallListEntry.state,
        )
        .where(CallListEntry.customer_id.in_(ids), holds)
        .order_by(CallListEntry.customer_id, CallListEntry.id)
    )
    return _grouped(
        (row[0], HoldingEntry(row[1], ctx.priorities.get(row[1]), row[2], str(row[3])))
        for row in connection.execute(query)
    )


_FETCHERS: Final[Mapping[SuppressionReason, Fetcher]] = {
    SuppressionReason.DNC: _dnc,
    SuppressionReason.REFUSED: _refused,
    SuppressionReason.NO_CONSENT: _no_consent,
    SuppressionReason.NO_DIALABLE_PHONE: _no_dialable_phone,
    SuppressionReason.COOLDOWN: _cooldown,
    SuppressionReason.WEEKLY_CAP: _weekly_cap,
    SuppressionReason.HIGHER_PRIORITY: _higher_priority,
}
