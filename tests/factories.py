"""Row factories: one function per model, valid by default, every column overridable.

Each factory adds its row to the session and flushes (so ids and server defaults exist) but does
not commit: the test decides when its data is committed. Missing parents are created. Times
default to fixed aware instants; nothing reads the clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dialer.models import (
    Attempt,
    CallEvent,
    CallListEntry,
    CallStatus,
    Customer,
    CustomerPhone,
    DncEntry,
    DncSource,
    EntryState,
    Mailing,
    Order,
    Subscription,
    SubscriptionStatus,
)

JST = ZoneInfo("Asia/Tokyo")
#: A Monday morning in Tokyo, within every sample calling window.
DEFAULT_TIME = datetime(2026, 11, 2, 10, 0, tzinfo=JST)

_numbers = itertools.count(1)
Row = TypeVar("Row")


def _next_number() -> int:
    return next(_numbers)


def unique_phone() -> str:
    """A mobile number in E.164 that no other factory call returns."""
    return f"+8190{_next_number():08d}"


def _saved(session: Session, row: Row) -> Row:
    session.add(row)
    session.flush()
    return row


def make_customer(
    session: Session,
    *,
    external_id: str | None = None,
    name: str = "山田 太郎",
    name_kana: str | None = "ヤマダ タロウ",
    phones: Sequence[str] | None = None,
    birthday: date | None = date(1980, 5, 17),
    opt_in: bool | None = True,
) -> Customer:
    """A customer with dialable phones (one fresh number unless `phones` is given)."""
    customer = Customer(
        external_id=external_id or f"C{_next_number():06d}",
        name=name,
        name_kana=name_kana,
        birthday=birthday,
        opt_in=opt_in,
    )
    numbers = [unique_phone()] if phones is None else phones
    customer.phones = [
        CustomerPhone(preference=rank, raw=number, e164=number, phone_class="mobile")
        for rank, number in enumerate(numbers, start=1)
    ]
    return _saved(session, customer)


def make_refused_phone(
    session: Session,
    customer: Customer,
    *,
    raw: str = "0120-123-456",
    e164: str | None = "+81120123456",
    phone_class: str | None = "toll_free",
    refusal_reason: str = "free dial (0120) numbers are not dialled",
) -> CustomerPhone:
    """A number the import judged undialable, added after the customer's other numbers."""
    phone = CustomerPhone(
        customer=customer,
        preference=len(customer.phones) + 1,
        raw=raw,
        e164=e164,
        phone_class=phone_class,
        refusal_reason=refusal_reason,
    )
    return _saved(session, phone)


def make_order(
    session: Session,
    customer: Customer | None = None,
    *,
    external_id: str | None = None,
    ordered_at: datetime = DEFAULT_TIME,
    amount: int = 3980,
    sku: str = "AOJIRU-30",
    channel: str | None = "web",
) -> Order:
    """An order (whole yen)."""
    order = Order(
        customer=customer or make_customer(session),
        external_id=external_id or f"O{_next_number():06d}",
        ordered_at=ordered_at,
        amount=amount,
        sku=sku,
        channel=channel,
    )
    return _saved(session, order)


def make_subscription(
    session: Session,
    customer: Customer | None = None,
    *,
    external_id: str | None = None,
    sku: str = "AOJIRU-30",
    cycle_days: int = 30,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    next_delivery: date | None = date(2026, 11, 20),
) -> Subscription:
    """A repeat-delivery subscription."""
    subscription = Subscription(
        customer=customer or make_customer(session),
        external_id=external_id or f"S{_next_number():06d}",
        sku=sku,
        cycle_days=cycle_days,
        status=status,
        next_delivery=next_delivery,
    )
    return _saved(session, subscription)


def make_mailing(
    session: Session,
    customer: Customer | None = None,
    *,
    mailing: str = "2026-winter-dm",
    sent_at: datetime = DEFAULT_TIME,
) -> Mailing:
    """A mailing sent to a customer."""
    row = Mailing(customer=customer or make_customer(session), mailing=mailing, sent_at=sent_at)
    return _saved(session, row)


def make_dnc_entry(
    session: Session,
    *,
    phone: str | None = None,
    customer: Customer | None = None,
    reason: str = "refused on the phone",
    source: DncSource = DncSource.IMPORT,
    added_at: datetime | None = None,
    added_by: str | None = None,
    expires_at: datetime | None = None,
) -> DncEntry:
    """A do-not-call entry naming `phone`, `customer` or both; `added_at` defaults to the DB's."""
    entry = DncEntry(
        phone=phone,
        customer_id=customer.id if customer else None,
        reason=reason,
        source=source,
        added_by=added_by,
        expires_at=expires_at,
    )
    if added_at is not None:
        entry.added_at = added_at
    return _saved(session, entry)


_PARKED_REASON = {EntryState.SUPPRESSED: "cooldown"}
_CLOSED_REASON = {EntryState.RETIRED: "left_segment", EntryState.DONE: "reached"}


def make_entry(
    session: Session,
    customer: Customer | None = None,
    *,
    campaign_id: str = "f2-followup",
    state: EntryState = EntryState.PENDING,
    priority: int = 0,
    next_attempt_at: datetime | None = DEFAULT_TIME,
    phone: str | None = None,
    suppressed_reason: str | None = None,
    closed_reason: str | None = None,
) -> CallListEntry:
    """A call list entry dialling the customer's first dialable number; valid for any `state`."""
    customer = customer or make_customer(session)
    entry = CallListEntry(
        customer=customer,
        campaign_id=campaign_id,
        state=state,
        priority=priority,
        next_attempt_at=next_attempt_at,
        phone=phone or customer.dialable_phone,
        suppressed_reason=suppressed_reason or _PARKED_REASON.get(state),
        closed_reason=closed_reason or _CLOSED_REASON.get(state),
    )
    return _saved(session, entry)


def make_attempt(
    session: Session,
    entry: CallListEntry | None = None,
    *,
    started_at: datetime = DEFAULT_TIME,
    call_sid: str | None = None,
    status: CallStatus | None = CallStatus.QUEUED,
    outcome: str | None = None,
    ended_at: datetime | None = None,
) -> Attempt:
    """The entry's next attempt, counted on the entry as the dispatcher counts it."""
    entry = entry or make_entry(session)
    entry.attempt_count += 1
    entry.last_attempt_at = started_at
    attempt = Attempt(
        entry=entry,
        attempt_number=entry.attempt_count,
        campaign_id=entry.campaign_id,
        customer_id=entry.customer_id,
        phone=entry.phone or unique_phone(),
        started_at=started_at,
        call_sid=call_sid or f"CA{_next_number():032x}",
        status=status,
        outcome=outcome,
        ended_at=ended_at,
    )
    return _saved(session, attempt)


def make_call_event(
    session: Session,
    attempt: Attempt | None = None,
    *,
    kind: str = "status",
    payload: dict[str, Any] | None = None,
    sequence_number: int | None = 0,
    received_at: datetime = DEFAULT_TIME,
) -> CallEvent:
    """A stored callback for `attempt` (a new one unless given)."""
    attempt = attempt or make_attempt(session)
    event = CallEvent(
        kind=kind,
        call_sid=attempt.call_sid,
        attempt=attempt,
        sequence_number=sequence_number,
        payload=payload if payload is not None else {"CallSid": attempt.call_sid},
        received_at=received_at,
    )
    return _saved(session, event)
