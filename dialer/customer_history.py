"""Everything about one customer, for the customer page: what operators need on screen.

Orders, subscriptions, call list entries, every attempt with its callbacks and key presses,
dispositions and notes, and every DNC entry naming the customer or one of their numbers. A
fixed number of queries per page (one per kind of row), never one per attempt. `add_note` is
the one write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.dnc import DncRow, customer_dnc
from dialer.errors import DialerError
from dialer.models import (
    Attempt,
    CallEvent,
    CallListEntry,
    CallStatus,
    Customer,
    CustomerNote,
    CustomerPhone,
    EntryState,
    KeyPress,
    Order,
    Subscription,
    SubscriptionStatus,
)
from dialer.pacing import live_attempts
from dialer.read_only import read_only
from dialer.segment_sql import UnknownCustomerError
from dialer.wallclock import require_aware

__all__ = [
    "MAX_NOTE_LENGTH",
    "AttemptHistory",
    "CustomerHistory",
    "EventLine",
    "InvalidNoteError",
    "NoteLine",
    "UnknownCustomerError",
    "add_note",
    "customer_history",
]

MAX_NOTE_LENGTH: Final = 2000
#: Callback fields worth a line on the page; the rest stay in the stored payload.
_EVENT_FIELDS: Final = ("CallStatus", "AnsweredBy", "CallDuration", "QueueResult", "Digits")


class InvalidNoteError(DialerError):
    """An empty or overlong note."""


@dataclass(frozen=True)
class PhoneLine:
    preference: int
    raw: str
    e164: str | None
    phone_class: str | None
    refusal_reason: str | None


@dataclass(frozen=True)
class OrderLine:
    external_id: str
    ordered_at: datetime
    amount: int
    sku: str
    channel: str | None


@dataclass(frozen=True)
class SubscriptionLine:
    external_id: str
    sku: str
    cycle_days: int
    status: SubscriptionStatus
    next_delivery: date | None


@dataclass(frozen=True)
class EntryLine:
    campaign_id: str
    state: EntryState
    attempt_count: int
    next_attempt_at: datetime | None
    last_outcome: str | None
    suppressed_reason: str | None
    closed_reason: str | None


@dataclass(frozen=True)
class EventLine:
    """One stored callback: when, which webhook, and its telling fields."""

    received_at: datetime
    kind: str
    fields: dict[str, str]


@dataclass(frozen=True)
class KeyLine:
    pressed_at: datetime
    step: str
    digits: str
    action: str | None


@dataclass(frozen=True)
class AttemptHistory:
    id: int
    campaign_id: str
    attempt_number: int
    phone: str
    started_at: datetime
    ended_at: datetime | None
    status: CallStatus | None
    outcome: str | None
    answered_by: str | None
    duration_seconds: int | None
    queue_result: str | None
    queue_time_seconds: int | None
    disposition: str | None
    operator_id: str | None
    notes: str | None
    live: bool
    events: tuple[EventLine, ...]
    key_presses: tuple[KeyLine, ...]


@dataclass(frozen=True)
class NoteLine:
    created_at: datetime
    author: str
    body: str
    attempt_id: int | None


@dataclass(frozen=True)
class CustomerHistory:
    id: int
    external_id: str
    name: str
    name_kana: str | None
    birthday: date | None
    opt_in: bool | None
    phones: tuple[PhoneLine, ...]
    orders: tuple[OrderLine, ...]
    subscriptions: tuple[SubscriptionLine, ...]
    entries: tuple[EntryLine, ...]
    attempts: tuple[AttemptHistory, ...]
    notes: tuple[NoteLine, ...]
    dnc: tuple[DncRow, ...]
    now: datetime

    @property
    def on_dnc(self) -> bool:
        return any(row.is_active_at(self.now) for row in self.dnc)

    def handled_live_by(self, operator_id: str) -> bool:
        """Whether `operator_id` is on a call with this customer now."""
        return any(a.live and a.operator_id == operator_id for a in self.attempts)


def customer_history(session: Session, external_id: str, *, now: datetime) -> CustomerHistory:
    """The customer the shop calls `external_id`; `UnknownCustomerError` if none.

    Read only; the transaction it opens is closed again."""
    require_aware(now)
    with read_only(session):
        return _history(session, external_id, now)


def add_note(
    session: Session,
    external_id: str,
    *,
    author: str,
    body: str,
    now: datetime,
    attempt_id: int | None = None,
) -> CustomerNote:
    """Append a note to the customer, in the caller's transaction."""
    require_aware(now)
    text = body.strip()
    if not text:
        raise InvalidNoteError("the note is empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNoteError(f"a note has at most {MAX_NOTE_LENGTH} characters")
    customer_id = session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id))
    if customer_id is None:
        raise UnknownCustomerError(f"no customer with id '{external_id}'")
    if attempt_id is not None:
        owner = session.scalar(sa.select(Attempt.customer_id).where(Attempt.id == attempt_id))
        if owner != customer_id:
            raise InvalidNoteError(f"attempt {attempt_id} is not a call to this customer")
    note = CustomerNote(
        customer_id=customer_id, attempt_id=attempt_id, author=author, body=text, created_at=now
    )
    session.add(note)
    session.flush()
    return note


def _history(session: Session, external_id: str, now: datetime) -> CustomerHistory:
    customer = session.scalars(
        sa.select(Customer).where(Customer.external_id == external_id)
    ).one_or_none()
    if customer is None:
        raise UnknownCustomerError(f"no customer with id '{external_id}'")
    cid = customer.id
    return CustomerHistory(
        id=cid,
        external_id=customer.external_id,
        name=customer.name,
        name_kana=customer.name_kana,
        birthday=customer.birthday,
        opt_in=customer.opt_in,
        phones=_lines(session, PhoneLine, CustomerPhone, cid, CustomerPhone.preference),
        orders=_lines(session, OrderLine, Order, cid, Order.ordered_at.desc()),
        subscriptions=_lines(session, SubscriptionLine, Subscription, cid, Subscription.id),
        entries=_lines(session, EntryLine, CallListEntry, cid, CallListEntry.campaign_id),
        attempts=_attempts(session, cid, now),
        notes=_lines(session, NoteLine, CustomerNote, cid, CustomerNote.created_at.desc()),
        dnc=customer_dnc(session, cid),
        now=now,
    )


def _lines(
    session: Session, line: type[Any], model: type[Any], customer_id: int, order: Any
) -> tuple[Any, ...]:
    """Rows of `model` for the customer as `line` dataclasses, whose fields name the columns."""
    names = list(line.__dataclass_fields__)
    query = (
        sa.select(*(getattr(model, name) for name in names))
        .where(model.customer_id == customer_id)
        .order_by(order)
    )
    return tuple(line(*row) for row in session.execute(query))


def _attempts(session: Session, customer_id: int, now: datetime) -> tuple[AttemptHistory, ...]:
    columns = [
        name
        for name in AttemptHistory.__dataclass_fields__
        if name not in ("live", "events", "key_presses")
    ]
    query = (
        sa.select(*(getattr(Attempt, name) for name in columns), live_attempts(now).label("live"))
        .where(Attempt.customer_id == customer_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    rows = session.execute(query).all()
    ids = [row.id for row in rows]
    events = _events(session, ids)
    keys = _key_presses(session, ids)
    return tuple(
        AttemptHistory(
            **{name: getattr(row, name) for name in columns},
            live=bool(row.live),
            events=tuple(events[row.id]),
            key_presses=tuple(keys[row.id]),
        )
        for row in rows
    )


def _events(session: Session, attempt_ids: list[int]) -> dict[int, list[EventLine]]:
    found: dict[int, list[EventLine]] = defaultdict(list)
    if not attempt_ids:
        return found
    query = (
        sa.select(CallEvent.attempt_id, CallEvent.received_at, CallEvent.kind, CallEvent.payload)
        .where(CallEvent.attempt_id.in_(attempt_ids))
        .order_by(CallEvent.received_at, CallEvent.id)
    )
    for attempt_id, received_at, kind, payload in session.execute(query):
        fields = {key: str(payload[key]) for key in _EVENT_FIELDS if payload.get(key)}
        found[attempt_id].append(EventLine(received_at, kind, fields))
    return found


def _key_presses(session: Session, attempt_ids: list[int]) -> dict[int, list[KeyLine]]:
    found: dict[int, list[KeyLine]] = defaultdict(list)
    if not attempt_ids:
        return found
    query = (
        sa.select(
            KeyPress.attempt_id,
            KeyPress.pressed_at,
            KeyPress.step,
            KeyPress.digits,
            KeyPress.action,
        )
        .where(KeyPress.attempt_id.in_(attempt_ids))
        .order_by(KeyPress.pressed_at, KeyPress.id)
    )
    for attempt_id, pressed_at, step, digits, action in session.execute(query):
        found[attempt_id].append(KeyLine(pressed_at, step, digits, action))
    return found
