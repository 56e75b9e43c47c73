"""Who must not be called, and why: the suppression rules of the call lists.

Every rule is a SQL condition on a customer id. The list build judges a whole candidate set in
one statement (no customer is loaded into Python), and the dispatcher, `dialer plan` and
`dialer why` judge with exactly the same definitions, so a count, a dial-time check and an
explanation can never disagree.

A suppressed customer carries one reason: the first rule that applies, in `PRECEDENCE` order.
Reasons that last (legal, then data that a person has to fix) come before reasons that lapse by
themselves, and contention between campaigns comes last. So a `cooldown` count means "these
come back on their own", and a refusal never hides behind a transient reason.

1. `dnc`: an active do-not-call entry names the customer, or any of their phones' E.164.
2. `refused`: refused before, by any campaign (特定商取引法 第17条): an attempt dispositioned
   `refused` or with outcome `refused`/`opted_out`, an `opt_out` key press, or an entry closed
   as `refused`/`opted_out`. Refusals are also put on the DNC list at once (DESIGN.md,
   invariant 5); this rule still holds if that entry is later lifted by hand.
3. `no_consent`: the campaign requires opt-in and the customer's `opt_in` is not true.
4. `no_dialable_phone`: no phone with an E.164 form and no refusal reason.
5. `cooldown`: reached by another campaign (an attempt answered by a human, or dispositioned by
   an operator) within `policy.contact_cooldown` before now. The campaign's own attempts do not
   count: a callback the customer asked for must not wait out a cooldown it caused itself.
6. `weekly_cap`: attempts by all campaigns in the 7 days before now reach
   `policy.max_attempts_per_customer_week`.
7. `higher_priority`: an active entry (pending, in progress) in another running campaign holds
   the customer: one of higher priority, or of equal priority whose entry is older (lower id).
   One customer is called by one campaign at a time; running means enabled and within its dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import QueryableAttribute, aliased

from dialer.campaigns import Campaign, Config
from dialer.models import (
    Attempt,
    CallListEntry,
    Customer,
    CustomerPhone,
    DncEntry,
    EntryState,
    KeyPress,
)
from dialer.outcome_codes import Outcome
from dialer.wallclock import require_aware

__all__ = [
    "ACTIVE_STATES",
    "PRECEDENCE",
    "WEEK",
    "CustomerId",
    "SuppressionContext",
    "SuppressionReason",
    "dialable",
    "dialable_phone",
    "dnc_active",
    "holding",
    "is_running",
    "reached",
    "reason_expression",
    "refusal_recorded",
    "rule_conditions",
    "suppression_context",
    "suppression_query",
    "suppression_reasons",
]


class SuppressionReason(StrEnum):
    """Why a customer is held back; stored in `suppressed_reason`, shown and counted.

    Declared in precedence order. The values are stored: never rename them.
    """

    DNC = "dnc"
    REFUSED = "refused"
    NO_CONSENT = "no_consent"
    NO_DIALABLE_PHONE = "no_dialable_phone"
    COOLDOWN = "cooldown"
    WEEKLY_CAP = "weekly_cap"
    HIGHER_PRIORITY = "higher_priority"

    @property
    def label_ja(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS: Final[Mapping[SuppressionReason, tuple[str, str]]] = {
    SuppressionReason.DNC: ("発信禁止リスト登録", "on the do-not-call list"),
    SuppressionReason.REFUSED: ("過去に拒否", "refused before"),
    SuppressionReason.NO_CONSENT: ("同意なし", "no consent (opt-in required)"),
    SuppressionReason.NO_DIALABLE_PHONE: ("発信可能な電話番号なし", "no dialable phone"),
    SuppressionReason.COOLDOWN: ("接触後の待機期間中", "contacted recently (cooldown)"),
    SuppressionReason.WEEKLY_CAP: ("週間発信上限", "weekly attempt cap reached"),
    SuppressionReason.HIGHER_PRIORITY: (
        "他キャンペーンで発信予定",
        "held by a higher-priority campaign",
    ),
}

PRECEDENCE: Final = tuple(SuppressionReason)
"""The order in which rules are tried; the first that applies is the customer's reason."""

WEEK: Final = timedelta(days=7)
ACTIVE_STATES: Final = (EntryState.PENDING, EntryState.IN_PROGRESS)

#: Attempt dispositions, attempt outcomes and entry closing reasons that record a refusal.
REFUSAL_DISPOSITIONS: Final = ("refused",)
REFUSAL_OUTCOMES: Final = ("refused", "opted_out")
REFUSAL_CLOSED_REASONS: Final = ("refused", "opted_out")
#: The key press action of the IVR's opt-out key.
OPT_OUT_ACTION: Final = "opt_out"
#: Twilio's AnsweredBy for a person.
HUMAN: Final = "human"


@dataclass(frozen=True)
class SuppressionContext:
    """Everything the rules need about one campaign at one instant, resolved from the config.

    `outranking` and `peers` are the running campaigns whose active entries hold a customer
    away from this one: those of higher priority always, those of equal priority when their
    entry is the older one.
    """

    campaign_id: str
    now: datetime
    require_opt_in: bool
    contact_cooldown: timedelta
    weekly_cap: int
    outranking: tuple[str, ...]
    peers: tuple[str, ...]
    priorities: Mapping[str, int]


def is_running(config: Config, campaign: Campaign, now: datetime) -> bool:
    """Enabled and `now` within its dates (in its own time zone): only such a campaign calls,
    so only its active entries hold a customer away from other campaigns."""
    if not campaign.enabled:
        return False
    if campaign.dates is None:
        return True
    today = now.astimezone(config.timezone_of(campaign)).date()
    return campaign.dates.first <= today <= campaign.dates.last


def suppression_context(config: Config, campaign_id: str, *, now: datetime) -> SuppressionContext:
    """The rules of `campaign_id` at `now`; raises `UnknownCampaignError` for an unknown id."""
    require_aware(now)
    campaign = config.campaign(campaign_id)
    running = [c for c in config.campaigns if c.id != campaign.id and is_running(config, c, now)]
    return SuppressionContext(
        campaign_id=campaign.id,
        now=now,
        require_opt_in=campaign.require_opt_in,
        contact_cooldown=config.policy.contact_cooldown,
        weekly_cap=config.policy.max_attempts_per_customer_week,
        outranking=tuple(c.id for c in running if c.priority > campaign.priority),
        peers=tuple(c.id for c in running if c.priority == campaign.priority),
        priorities={c.id: c.priority for c in config.campaigns},
    )


CustomerId = sa.ColumnElement[int] | QueryableAttribute[int]
Rule = Callable[[CustomerId, SuppressionContext], sa.ColumnElement[bool]]


def _dnc(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    by_customer = aliased(DncEntry)
    by_phone = aliased(DncEntry)
    phone = aliased(CustomerPhone)
    return sa.or_(
        sa.exists().where(by_customer.customer_id == customer_id, dnc_active(by_customer, ctx.now)),
        sa.exists().where(
            phone.customer_id == customer_id,
            by_phone.phone == phone.e164,
            dnc_active(by_phone, ctx.now),
        ),
    )


def dnc_active(entry: Any, now: datetime) -> sa.ColumnElement[bool]:
    """`DncEntry.active_at`, for an alias of the table."""
    return sa.and_(
        entry.removed_at.is_(None), sa.or_(entry.expires_at.is_(None), entry.expires_at > now)
    )


def _refused(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    attempt = aliased(Attempt)
    pressed_on = aliased(Attempt)
    key = aliased(KeyPress)
    entry = aliased(CallListEntry)
    return sa.or_(
        sa.exists().where(attempt.customer_id == customer_id, refusal_recorded(attempt)),
        sa.exists().where(
            pressed_on.customer_id == customer_id,
            key.attempt_id == pressed_on.id,
            key.action == OPT_OUT_ACTION,
        ),
        sa.exists().where(
            entry.customer_id == customer_id, entry.closed_reason.in_(REFUSAL_CLOSED_REASONS)
        ),
    )


def refusal_recorded(attempt: Any) -> sa.ColumnElement[bool]:
    """An attempt (or an alias of the table) that ended in a refusal."""
    return sa.or_(
        attempt.disposition.in_(REFUSAL_DISPOSITIONS), attempt.outcome.in_(REFUSAL_OUTCOMES)
    )


def _no_consent(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    if not ctx.require_opt_in:
        return sa.false()
    customer = aliased(Customer)
    return ~sa.exists().where(customer.id == customer_id, customer.opt_in.is_(True))


def _no_dialable_phone(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    phone = aliased(CustomerPhone)
    return ~sa.exists().where(phone.customer_id == customer_id, dialable(phone))


def dialable(phone: Any) -> sa.ColumnElement[bool]:
    """`CustomerPhone.dialable` in SQL, for an alias of the table."""
    return sa.and_(phone.e164.is_not(None), phone.refusal_reason.is_(None))


def reached(attempt: Any) -> sa.ColumnElement[bool]:
    """An attempt that reached a person: answered by a human (Twilio's AnsweredBy, or the
    attempt's outcome), or dispositioned by an operator, who only does so after speaking."""
    return sa.or_(
        attempt.answered_by == HUMAN,
        attempt.outcome == Outcome.HUMAN.value,
        attempt.disposition.is_not(None),
    )


def _cooldown(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    if ctx.contact_cooldown <= timedelta(0):
        return sa.false()
    attempt = aliased(Attempt)
    return sa.exists().where(
        attempt.customer_id == customer_id,
        attempt.campaign_id != ctx.campaign_id,
        attempt.started_at > ctx.now - ctx.contact_cooldown,
        attempt.started_at <= ctx.now,
        reached(attempt),
    )


def counts_towards_weekly_cap(attempt: Any) -> sa.ColumnElement[bool]:
    """An attempt the customer may have felt: placed, or possibly placed (still in flight).

    Attempts the dispatcher gave back unplaced (a 429 or an outage: canceled with no CallSid)
    never rang anyone, so they must not use up the customer's weekly allowance.
    """
    return sa.or_(
        attempt.call_sid.is_not(None), sa.func.coalesce(attempt.outcome, "") != "canceled"
    )


def _weekly_cap(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    attempt = aliased(Attempt)
    in_week = (
        sa.select(sa.func.count())
        .where(
            attempt.customer_id == customer_id,
            attempt.started_at > ctx.now - WEEK,
            attempt.started_at <= ctx.now,
            counts_towards_weekly_cap(attempt),
        )
        .scalar_subquery()
    )
    return in_week >= ctx.weekly_cap


def _higher_priority(customer_id: CustomerId, ctx: SuppressionContext) -> sa.ColumnElement[bool]:
    other = aliased(CallListEntry)
    holds = holding(other, customer_id, ctx)
    if holds is None:
        return sa.false()
    return sa.exists().where(other.customer_id == customer_id, holds)


def holding(
    other: Any, customer_id: CustomerId, ctx: SuppressionContext
) -> sa.ColumnElement[bool] | None:
    """Whether the entry `other` (an alias of the table) holds the customer away from this
    campaign; None when no running campaign can (nothing outranks or ties with it)."""
    holders: list[sa.ColumnElement[bool]] = []
    if ctx.outranking:
        holders.append(other.campaign_id.in_(ctx.outranking))
    if ctx.peers:
        own = aliased(CallListEntry)
        own_id = (
            sa.select(own.id)
            .where(own.campaign_id == ctx.campaign_id, own.customer_id == customer_id)
            .correlate_except(own)  # the customer is the enclosing query's, two levels up
            .scalar_subquery()
        )
        older = other.id < sa.func.coalesce(own_id, other.id + 1)
        holders.append(sa.and_(other.campaign_id.in_(ctx.peers), older))
    if not holders:
        return None
    return sa.and_(other.state.in_(ACTIVE_STATES), sa.or_(*holders))


_RULES: Final[Mapping[SuppressionReason, Rule]] = {
    SuppressionReason.DNC: _dnc,
    SuppressionReason.REFUSED: _refused,
    SuppressionReason.NO_CONSENT: _no_consent,
    SuppressionReason.NO_DIALABLE_PHONE: _no_dialable_phone,
    SuppressionReason.COOLDOWN: _cooldown,
    SuppressionReason.WEEKLY_CAP: _weekly_cap,
    SuppressionReason.HIGHER_PRIORITY: _higher_priority,
}


def rule_conditions(
    customer_id: CustomerId, ctx: SuppressionContext
) -> dict[SuppressionReason, sa.ColumnElement[bool]]:
    """Each rule's condition on `customer_id`, in precedence order (for explanations)."""
    return {reason: _RULES[reason](customer_id, ctx) for reason in PRECEDENCE}


def reason_expression(
    customer_id: CustomerId, ctx: SuppressionContext
) -> sa.ColumnElement[str | None]:
    """The first reason that applies to `customer_id`, or NULL: a CASE that stops at the first
    rule that holds, so the costlier rules run only for customers the earlier ones let through."""
    whens = [
        (condition, reason.value) for reason, condition in rule_conditions(customer_id, ctx).items()
    ]
    return sa.case(*whens, else_=sa.null()).label("reason")


def suppression_query(
    candidates: sa.Select[*tuple[Any, ...]], ctx: SuppressionContext
) -> sa.Select[int, str]:
    """Rows (customer_id, reason) for every suppressed customer among `candidates`, a select
    whose first column is the customer id."""
    pool = candidates.subquery("candidates")
    customer_id = next(iter(pool.c))
    judged = sa.select(customer_id.label("customer_id"), reason_expression(customer_id, ctx))
    verdicts = judged.subquery("verdicts")
    return sa.select(verdicts.c.customer_id, verdicts.c.reason).where(
        verdicts.c.reason.is_not(None)
    )


def dialable_phone(customer_id: CustomerId) -> sa.ScalarSelect[str | None]:
    """The number an entry dials: the customer's first dialable phone by preference."""
    phone = aliased(CustomerPhone)
    return (
        sa.select(phone.e164)
        .where(phone.customer_id == customer_id, dialable(phone))
        .order_by(phone.preference)
        .limit(1)
        .scalar_subquery()
    )


def suppression_reasons(
    connection: Connection, ctx: SuppressionContext, customer_ids: Sequence[int]
) -> dict[int, SuppressionReason]:
    """The reason, if any, for each of a few customers: the dispatcher's check at the moment of
    dialling, with the list build's own definitions. Customers not suppressed are absent."""
    reason = reason_expression(Customer.id, ctx)
    query = sa.select(Customer.id, reason).where(Customer.id.in_(customer_ids))
    return {
        customer_id: SuppressionReason(value)
        for customer_id, value in connection.execute(query)
        if value is not None
    }
