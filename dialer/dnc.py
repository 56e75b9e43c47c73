"""Managing the do-not-call list by hand: search it, add to it, lift an entry with a reason.

Entries are never deleted (`dialer.models.dnc`): lifting one records who, when and why, so the
list is its own audit log. Who may lift an entry (supervisors) is the web layer's decision;
this module insists on the reason. Adding is open to anyone who takes calls, since a customer
who says "never call me again" must be honoured at once (特定商取引法 第17条).

Errors carry a `code` so that screens can say what is wrong in their own language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from dialer.log import log_event
from dialer.models import Customer, CustomerPhone, DncEntry, DncSource
from dialer.phones import check_phone
from dialer.read_only import read_only
from dialer.wallclock import require_aware

__all__ = [
    "DNC_PAGE_SIZE",
    "DncError",
    "DncPage",
    "DncRow",
    "DncStatus",
    "add_to_dnc",
    "customer_dnc",
    "remove_from_dnc",
    "search_dnc",
]

logger = logging.getLogger(__name__)

DNC_PAGE_SIZE: Final = 50
_MAX_TEXT: Final = 200
_DIGITS: Final = re.compile(r"[0-9]{2,15}")


class DncError(DialerError):
    """A DNC change that cannot be made; `code` is stable, the message is for the CLI/logs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DncStatus(StrEnum):
    """Which entries a search lists."""

    ACTIVE = "active"
    REMOVED = "removed"
    ALL = "all"


@dataclass(frozen=True)
class DncRow:
    """One entry with its customer's name, if it names a customer."""

    id: int
    phone: str | None
    customer_external_id: str | None
    customer_name: str | None
    reason: str
    source: DncSource
    added_at: datetime
    added_by: str | None
    expires_at: datetime | None
    removed_at: datetime | None
    removed_by: str | None
    removed_reason: str | None

    def is_active_at(self, now: datetime) -> bool:
        return self.removed_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class DncPage:
    rows: tuple[DncRow, ...]
    total: int
    offset: int
    limit: int


def search_dnc(
    session: Session,
    *,
    query: str | None = None,
    status: DncStatus = DncStatus.ACTIVE,
    now: datetime,
    offset: int = 0,
    limit: int = DNC_PAGE_SIZE,
) -> DncPage:
    """Entries newest first. `query`: digits match the end of the number, anything else the
    customer's name, id or the reason. Read only; the transaction it opens is closed again."""
    require_aware(now)
    conditions = list(_matching(query))
    if status is DncStatus.ACTIVE:
        conditions.append(DncEntry.active_at(now))
    elif status is DncStatus.REMOVED:
        conditions.append(DncEntry.removed_at.is_not(None))
    select = _select().where(*conditions)
    counted = sa.select(sa.func.count()).select_from(DncEntry).outerjoin(Customer)
    with read_only(session):
        total = session.scalar(counted.where(*conditions)) or 0
        page = select.order_by(DncEntry.added_at.desc(), DncEntry.id.desc())
        rows = [_row(found) for found in session.execute(page.offset(offset).limit(limit))]
    return DncPage(tuple(rows), total, offset, limit)


def customer_dnc(session: Session, customer_id: int) -> tuple[DncRow, ...]:
    """Every entry, active or lifted, naming the customer or any of their numbers."""
    numbers = sa.select(CustomerPhone.e164).where(
        CustomerPhone.customer_id == customer_id, CustomerPhone.e164.is_not(None)
    )
    query = (
        _select()
        .where(sa.or_(DncEntry.customer_id == customer_id, DncEntry.phone.in_(numbers)))
        .order_by(DncEntry.added_at.desc(), DncEntry.id.desc())
    )
    return tuple(_row(found) for found in session.execute(query))


def add_to_dnc(
    session: Session,
    *,
    phone: str | None,
    customer_external_id: str | None,
    reason: str,
    source: DncSource,
    by: str,
    now: datetime,
) -> DncEntry:
    """Put a number, a customer, or both on the list, in the caller's transaction.

    A customer given without a number brings their numbers along: the entry names the
    customer, and matching by customer covers every number they have."""
    require_aware(now)
    why = _required_text(reason, "reason_required", "a reason is required")
    e164 = _phone(phone) if phone and phone.strip() else None
    customer_id = _customer_id(session, customer_external_id)
    if e164 is None and customer_id is None:
        raise DncError("key_required", "give a phone number or a customer id")
    entry = DncEntry(
        phone=e164,
        customer_id=customer_id,
        reason=why,
        source=source,
        added_at=now,
        added_by=by,
    )
    session.add(entry)
    session.flush()
    log_event(logger, "dnc_added", entry=entry.id, phone=e164, customer=customer_id, by=by)
    return entry


def remove_from_dnc(
    session: Session, entry_id: int, *, by: str, reason: str, now: datetime
) -> DncEntry:
    """Lift an entry, keeping it with who lifted it, when and why; in the caller's transaction."""
    require_aware(now)
    why = _required_text(reason, "removal_reason_required", "a reason for the removal is required")
    entry = session.scalars(
        sa.select(DncEntry).where(DncEntry.id == entry_id).with_for_update()
    ).one_or_none()
    if entry is None:
        raise DncError("not_found", f"no DNC entry {entry_id}")
    if entry.removed_at is not None:
        raise DncError("already_removed", f"DNC entry {entry_id} was already removed")
    entry.removed_at, entry.removed_by, entry.removed_reason = now, by, why
    session.flush()
    log_event(logger, "dnc_removed", entry=entry.id, phone=entry.phone, by=by, reason=why)
    return entry


def _select() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(
        DncEntry.id,
        DncEntry.phone,
        Customer.external_id.label("customer_external_id"),
        Customer.name.label("customer_name"),
        DncEntry.reason,
        DncEntry.source,
        DncEntry.added_at,
        DncEntry.added_by,
        DncEntry.expires_at,
        DncEntry.removed_at,
        DncEntry.removed_by,
        DncEntry.removed_reason,
    ).outerjoin(Customer, Customer.id == DncEntry.customer_id)


def _row(found: sa.Row[*tuple[Any, ...]]) -> DncRow:
    return DncRow(**found._asdict())


def _matching(query: str | None) -> list[sa.ColumnElement[bool]]:
    text = (query or "").strip()
    if not text:
        return []
    digits = re.sub(r"[\s\-()]", "", text)
    if _DIGITS.fullmatch(digits):
        whole = check_phone(digits).e164 if digits.startswith("0") else None
        return [DncEntry.phone == whole if whole else DncEntry.phone.endswith(digits)]
    return [
        sa.or_(
            Customer.name.contains(text, autoescape=True),
            Customer.name_kana.contains(text, autoescape=True),
            Customer.external_id == text,
            DncEntry.reason.contains(text, autoescape=True),
        )
    ]


def _phone(raw: str) -> str:
    checked = check_phone(raw)
    if checked.e164 is None:
        raise DncError("invalid_phone", "not a phone number that can be recognised")
    return checked.e164


def _customer_id(session: Session, external_id: str | None) -> int | None:
    if not external_id or not external_id.strip():
        return None
    found = session.scalar(
        sa.select(Customer.id).where(Customer.external_id == external_id.strip())
    )
    if found is None:
        raise DncError("unknown_customer", f"no customer with id '{external_id.strip()}'")
    return found


def _required_text(text: str, code: str, message: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise DncError(code, message)
    if len(cleaned) > _MAX_TEXT:
        raise DncError("too_long", f"at most {_MAX_TEXT} characters")
    return cleaned
